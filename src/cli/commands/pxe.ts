/** `gough pxe serve`: the built-in PXE services (DHCP or proxyDHCP, TFTP, HTTP boot) for one site of a repo. */
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PxeService, formatBootEvent } from '../../drivers/pxe/index.js';
import { type DesiredHost, isGoughError } from '../../model/index.js';
import { formatDiagnostic, hasErrors, loadDirectory } from '../../repo/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';

const HELP = `Usage: gough pxe serve --site NAME [--repo DIR] [--interface IF] [--mode dhcp|proxy]
                       [--state-dir DIR] [--tftp-root DIR] [--http-root DIR] [--no-arm]

Run the built-in PXE services of one site of the config repository in DIR:
  DHCP (UDP 67)   static leases from the site's hosts (hardware.bootMac or first MAC ->
                  network.address), the site's dynamic range, PXE boot file by option 93
                  and user-class iPXE; in proxy mode boot information only (UDP 67 + 4011),
                  next to another DHCP server that hands out addresses
  TFTP (UDP 69)   read-only iPXE binaries from --tftp-root (default: site pxe.tftpRoot,
                  else /usr/lib/ipxe from Debian's ipxe package)
  HTTP (pxe.httpPort, default 8081)
                  /boot/<mac>.ipxe through the boot gate, NoCloud /cloud-init/<mac>/user-data,
                  meta-data, vendor-data while an install runs, /cloud-init/<mac>/done to
                  report an install complete, other paths from --http-root (kernel, initrd)

The boot gate: a host gets its installer only while armed; a host that reported done
boots from its local disk; any other machine gets a script saying it has no business
booting. Unless --no-arm is given, serve arms every host with state "deployed" whose
installed specHash differs from the rendered one (a daemon driving the gate passes --no-arm).

Every boot step is logged on stdout, one line per event:
  <time> <event> mac=... host=... key=value ...
with events dhcp-offer, dhcp-ack, dhcp-nak, dhcp-release, dhcp-decline, dhcp-inform,
dhcp-ignored, tftp-fetch, tftp-error, script-fetch, cloud-init-fetch, install-complete,
discovered. Stops on SIGINT or SIGTERM.

Options:
  --site NAME        site to serve (required; its provisioner must be pxe)
  --repo DIR         config repository (default: the current directory)
  --interface IF     provisioning interface (default: site pxe.interface); must hold bootServer
  --mode MODE        dhcp or proxy (default: site pxe.mode)
  --state-dir DIR    leases.json, gate.json, events.jsonl (default: .gough/pxe/<site>)
  --tftp-root DIR    TFTP root
  --http-root DIR    directory served for other HTTP paths (installer kernel and initrd)
  --no-arm           do not arm deployed hosts at start
  -h, --help         show this help

Exit status: 0 stopped by a signal, 1 failed (repository errors, port in use), 2 usage.

Examples:
  sudo gough pxe serve --site edge1 --repo example-repo --http-root /srv/netboot
  sudo gough pxe serve --site edge1 --mode proxy --no-arm`;

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`gough pxe: ${message}\nRun "gough pxe --help" for usage.\n`);
  return EXIT.usage;
}

async function serve(argv: string[], io: CliIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        site: { type: 'string' },
        repo: { type: 'string' },
        interface: { type: 'string' },
        mode: { type: 'string' },
        'state-dir': { type: 'string' },
        'tftp-root': { type: 'string' },
        'http-root': { type: 'string' },
        'no-arm': { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    return usageError(io, (e as Error).message);
  }
  const siteName = values.site as string | undefined;
  if (siteName === undefined) return usageError(io, '--site is required');
  const mode = values.mode as string | undefined;
  if (mode !== undefined && mode !== 'dhcp' && mode !== 'proxy')
    return usageError(io, `--mode must be dhcp or proxy, not "${mode}"`);
  const repo = resolve(io.cwd, (values.repo as string | undefined) ?? '.');

  const { desired, diagnostics } = await loadDirectory(repo);
  if (hasErrors(diagnostics)) {
    for (const d of diagnostics.filter((x) => x.severity === 'error')) io.stderr.write(`${formatDiagnostic(d)}\n`);
    io.stderr.write(`gough pxe: repository "${repo}" has errors, not serving\n`);
    return EXIT.failed;
  }
  const site = desired.sites.find((s) => s.metadata.name === siteName);
  if (site === undefined) {
    io.stderr.write(`gough pxe: site "${siteName}" is not defined in "${repo}"\n`);
    return EXIT.failed;
  }
  if (site.spec.provisioner !== 'pxe' || site.spec.pxe === undefined) {
    io.stderr.write(`gough pxe: site "${siteName}" does not use the built-in PXE provisioner\n`);
    return EXIT.failed;
  }
  const iface = values.interface as string | undefined;
  if (iface !== undefined) {
    const addrs = networkInterfaces()[iface];
    if (addrs === undefined) {
      io.stderr.write(`gough pxe: interface "${iface}" does not exist\n`);
      return EXIT.failed;
    }
    if (!addrs.some((a) => a.address === site.spec.pxe?.bootServer)) {
      io.stderr.write(`gough pxe: interface "${iface}" does not hold bootServer "${site.spec.pxe.bootServer}"\n`);
      return EXIT.failed;
    }
  }
  const hosts: DesiredHost[] = [];
  for (const h of desired.hosts) {
    const rendered = desired.rendered.get(h.metadata.name);
    if (h.spec.site === siteName && rendered !== undefined)
      hosts.push({ host: h, site, revision: desired.revision, rendered });
  }
  const stateDir = resolve(io.cwd, (values['state-dir'] as string | undefined) ?? `.gough/pxe/${siteName}`);
  const tftpRoot = values['tftp-root'] as string | undefined;
  const httpRoot = values['http-root'] as string | undefined;
  const write = (line: string) => io.stdout.write(`${line}\n`);
  const svc = await PxeService.start({
    site,
    hosts,
    stateDir,
    armDeployed: values['no-arm'] !== true,
    onEvent: (e) => write(formatBootEvent(e)),
    ...(mode === undefined ? {} : { mode }),
    ...(tftpRoot === undefined ? {} : { tftpRoot: resolve(io.cwd, tftpRoot) }),
    ...(httpRoot === undefined ? {} : { filesDir: resolve(io.cwd, httpRoot) }),
  });
  const gate = await svc.gate.read();
  const armed = Object.entries(gate.hosts)
    .filter(([, r]) => r.armed !== undefined)
    .map(([n]) => n);
  write(
    `${new Date().toISOString()} serving site=${siteName} mode=${mode ?? site.spec.pxe.mode} hosts=${hosts.length} ` +
      `dhcp=${svc.dhcp.port} tftp=${svc.tftp.port} http=${svc.httpPort} state=${stateDir} armed=${armed.join(',') || '-'}`,
  );
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await svc.close();
  write(`${new Date().toISOString()} stopped`);
  return EXIT.ok;
}

export const pxeCommand: Command = {
  name: 'pxe',
  summary: 'Run the built-in PXE services (DHCP/proxyDHCP, TFTP, HTTP boot) for one site',
  help: HELP,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'serve')
      return usageError(io, sub === undefined ? 'missing sub-command "serve"' : `unknown sub-command "${sub}"`);
    try {
      return await serve(rest, io);
    } catch (e) {
      const msg = isGoughError(e)
        ? e.message
        : (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
          ? `port in use: ${(e as Error).message}`
          : (e as Error).message;
      io.stderr.write(`gough pxe: ${msg}\n`);
      return EXIT.failed;
    }
  },
};
