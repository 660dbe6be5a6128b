/**
 * iPXE scripts: the installer script of a built-in PXE host, the informational script of a MAAS host,
 * and the two scripts the PXE server answers with when a host should not install (local disk, no business).
 */
import type { RenderedHost, Site } from '../model/index.js';
import { GoughError } from '../model/index.js';

/** The built-in PXE HTTP server's port when the site's `pxe.httpPort` is not set. */
export const PXE_HTTP_PORT_DEFAULT = 8081;

/** `http://<bootServer>:<httpPort>` of a PXE site, or undefined for a site without `pxe`. */
export function pxeHttpBase(site: Site): string | undefined {
  const pxe = site.spec.pxe;
  if (pxe === undefined) return undefined;
  const host = pxe.bootServer.includes(':') ? `[${pxe.bootServer}]` : pxe.bootServer;
  return `http://${host}:${pxe.httpPort ?? PXE_HTTP_PORT_DEFAULT}`;
}

/** NoCloud seed of one host: `http://<bootServer>:<httpPort>/cloud-init/<mac>/` (serves user-data, meta-data). */
export function seedUrlOf(site: Site, mac: string): string | undefined {
  const base = pxeHttpBase(site);
  return base === undefined ? undefined : `${base}/cloud-init/${mac.toLowerCase()}/`;
}

/** An installer path relative to the boot server becomes a URL on it; a URL is kept as written. */
function onBootServer(site: Site, ref: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) return ref;
  return `${pxeHttpBase(site) ?? ''}/${ref.replace(/^\/+/, '')}`;
}

/** Collapses whitespace (including newlines) so a value can never start a new iPXE command. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Keeps names printable in an iPXE `echo` (no variable expansion, no command separators). */
function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._:@/-]/g, '_');
}

function basename(url: string): string {
  const path = url.replace(/[?#].*$/, '');
  return path.slice(path.lastIndexOf('/') + 1);
}

export type InstallerBoot = {
  /** Kernel URL. */
  kernel: string;
  /** Initrd URLs. */
  initrd: string[];
  /** Full kernel command line: `initrd=` names, installer args, the NoCloud seed, the template's args. */
  cmdline: string;
  /** NoCloud seed URL of the host. */
  seedUrl: string;
};

/** Boot settings of a PXE host, or undefined when the site has no `pxe.installer`. */
export function installerBootOf(site: Site, bootMac: string, kernelArgs: string): InstallerBoot | undefined {
  const installer = site.spec.pxe?.installer;
  const seedUrl = seedUrlOf(site, bootMac);
  if (installer === undefined || seedUrl === undefined) return undefined;
  const kernel = onBootServer(site, installer.kernel);
  const initrd = installer.initrd.map((i) => onBootServer(site, i));
  const cmdline = oneLine(
    [
      ...initrd.map((i) => `initrd=${basename(i)}`),
      installer.args ?? '',
      // `;` is literal in iPXE; GRUB would need it escaped, iPXE does not.
      `ds=nocloud-net;s=${seedUrl}`,
      kernelArgs,
    ].join(' '),
  );
  return { kernel, initrd, cmdline, seedUrl };
}

type ScriptHeader = { host: string; site: string; os: { distro: string; series: string } };

/** `#!ipxe` script that boots the site's installer with the host's NoCloud seed. */
export function installerScript(h: ScriptHeader, boot: InstallerBoot): string {
  const name = safeName(h.host);
  return [
    '#!ipxe',
    `# Gough installer for host ${name} (${safeName(h.os.distro)} ${safeName(h.os.series)}) at site ${safeName(h.site)}`,
    `echo Gough: installing ${name}`,
    `kernel ${boot.kernel} ${boot.cmdline}`,
    ...boot.initrd.map((i) => `initrd ${i}`),
    'boot',
    '',
  ].join('\n');
}

/** Script of a PXE host whose site has no installer configured: says so and hands over. */
export function noInstallerScript(h: ScriptHeader): string {
  return [
    '#!ipxe',
    `echo Gough: site ${safeName(h.site)} has no pxe.installer, cannot install ${safeName(h.host)}`,
    'exit',
    '',
  ].join('\n');
}

/** Informational script of a MAAS host: MAAS boots the machine, Gough's PXE server never serves this. */
export function maasScript(h: ScriptHeader): string {
  const name = safeName(h.host);
  return [
    '#!ipxe',
    `# Host ${name} is provisioned by MAAS at site ${safeName(h.site)}: MAAS serves its boot files, not Gough`,
    `echo Gough: ${name} is provisioned by MAAS (${safeName(h.os.distro)} ${safeName(h.os.series)})`,
    'exit',
    '',
  ].join('\n');
}

export type BootScriptKind = 'install' | 'local-disk' | 'no-business';

/**
 * The script the PXE server answers a booting machine with.
 * - `install`: the host's rendered installer script (`opts.rendered` is required).
 * - `local-disk`: boot the installed system. On BIOS, `sanboot --no-describe --drive 0x80` boots the first
 *   disk directly (some BIOSes do not fall through to the next boot device after the PXE ROM exits); if that
 *   fails, or on UEFI (where drive 0x80 means nothing), `exit` hands back to the firmware's next boot entry.
 *   Either way the machine never re-enters the installer.
 * - `no-business`: an `echo` saying why, then `exit` (Debian's iPXE has no `poweroff`).
 */
export function renderBootScript(
  kind: BootScriptKind,
  opts: { host?: string; mac?: string; rendered?: RenderedHost } = {},
): string {
  const who = safeName(opts.host ?? opts.rendered?.host ?? opts.mac ?? 'this machine');
  switch (kind) {
    case 'install':
      if (opts.rendered === undefined) {
        throw new GoughError('internal', 'Cannot render an install boot script: no rendered host given');
      }
      return opts.rendered.ipxeScript;
    case 'local-disk':
      return [
        '#!ipxe',
        `echo Gough: ${who} is provisioned, booting from local disk`,
        // A failing command ends an iPXE script, so every branch ends in `|| exit`.
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an iPXE variable, not a JS template
        'iseq ${platform} pcbios && sanboot --no-describe --drive 0x80 || exit',
        'exit',
        '',
      ].join('\n');
    case 'no-business':
      return [
        '#!ipxe',
        `echo Gough: no install is planned for ${who}, handing over to the next boot device`,
        'exit',
        '',
      ].join('\n');
  }
}
