/**
 * `gough bmc status|on|off|cycle|reset|soft|bootdev <pxe|disk>`: talk to one BMC over IPMI v2.0 (RMCP+) directly,
 * for operators. The BMC comes from a host of the config repository (`--host`) or from the command line.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_IPMI_USERNAME, IpmiPowerDriver, describeBmc } from '../../drivers/ipmi/index.js';
import { type Bmc, GoughError, type PowerOp, type SecretRef, isGoughError, scrubSecrets } from '../../model/index.js';
import { loadDirectory } from '../../repo/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';
import { createSecretResolver } from '../secrets.js';

const ACTIONS = ['status', 'on', 'off', 'cycle', 'reset', 'soft', 'bootdev'] as const;
type BmcAction = (typeof ACTIONS)[number];

const HELP = `Usage: gough bmc ACTION (--host NAME [--repo DIR] | --address HOST[:PORT] --user USER --password-env VAR)
                 [--cipher 3|17] [--kg-env VAR] [--persistent] [--efi] [--wait SECONDS] [--json]

Control one server's BMC directly over IPMI v2.0 (RMCP+), without ipmitool.

Actions:
  status            Show power state, last power event and fault bits
  on                Power on (only when the BMC reports off; does nothing when on)
  off               Power off (hard); does nothing when already off
  cycle             Power cycle (powers on a machine that is off)
  reset             Hard reset (powers on a machine that is off)
  soft              Soft shutdown via ACPI; waits until the BMC reports off
  bootdev pxe|disk  Boot from PXE or disk next time (every time with --persistent)

Every change is verified: the command polls the BMC until it shows the effect or --wait passes.

Selecting the BMC:
  --host NAME          A Host of the config repository: uses hardware.bmc (address, port, username,
                       credentialsRef, cipher) with the Site's bmc defaults
  --repo DIR           Config repository directory (default: current directory)
  --address HOST[:PORT]  BMC address ([v6addr]:port for IPv6); port defaults to 623
  --user USER          BMC user (default: ${DEFAULT_IPMI_USERNAME})
  --password-env VAR   Environment variable holding the password (never pass it on the command line)

Options:
  --cipher 3|17        RMCP+ cipher suite: 3 = SHA1/AES (default), 17 = SHA256/AES
  --kg-env VAR         Environment variable holding the BMC key K_g, when the BMC has one
  --persistent         bootdev: keep the device for all future boots (default: next boot only)
  --efi                bootdev: request an EFI boot (default: legacy BIOS)
  --wait SECONDS       How long to wait for the effect (default 30; soft: 120)
  --json               Print JSON instead of text
  -h, --help           Show this help

Exit status: 0 done and verified, 1 failed (one-line reason on stderr), 2 usage error.

Examples:
  IPMI_PW=... gough bmc status --address 10.0.0.17 --user admin --password-env IPMI_PW
  gough bmc bootdev pxe --host r1-n07 --repo ./fleet --efi
  gough bmc on --host r1-n07 --json`;

type Values = {
  host?: string | undefined;
  repo?: string | undefined;
  address?: string | undefined;
  user?: string | undefined;
  'password-env'?: string | undefined;
  'kg-env'?: string | undefined;
  cipher?: string | undefined;
  persistent?: boolean | undefined;
  efi?: boolean | undefined;
  wait?: string | undefined;
  json?: boolean | undefined;
};

function usageError(io: CliIo, message: string): number {
  io.stderr.write(`gough bmc: ${message}\nRun "gough bmc --help" for usage.\n`);
  return EXIT.usage;
}

/** Parses HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address. */
export function parseAddress(text: string): { address: string; port?: number } | undefined {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const m = v6 ?? (text.split(':').length === 2 ? /^([^:]+):(\d+)$/.exec(text) : null);
  if (!m) return text.length > 0 && !/\s/.test(text) ? { address: text } : undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) return undefined;
  return port === undefined ? { address: m[1]! } : { address: m[1]!, port };
}

async function bmcFromRepo(name: string, dir: string): Promise<Bmc> {
  const { desired } = await loadDirectory(dir);
  const host = desired.hosts.find((h) => h.metadata.name === name);
  if (!host) throw new GoughError('not-found', `Host "${name}" is not defined in "${dir}"`);
  const bmc = host.spec.hardware.bmc;
  if (!bmc) throw new GoughError('config-error', `Host "${name}" has no hardware.bmc`);
  if (bmc.driver !== 'ipmi') throw new GoughError('config-error', `Host "${name}" has BMC driver "${bmc.driver}", not "ipmi"`);
  const site = desired.sites.find((s) => s.metadata.name === host.spec.site)?.spec.bmc;
  const credentialsRef = bmc.credentialsRef ?? site?.credentialsRef;
  const username = bmc.username ?? site?.username;
  const cipher = bmc.cipher ?? site?.cipher;
  return {
    ...bmc,
    ...(credentialsRef ? { credentialsRef: relativeTo(credentialsRef, dir) } : {}),
    ...(username ? { username } : {}),
    ...(cipher ? { cipher } : {}),
  };
}

function relativeTo(ref: SecretRef, dir: string): SecretRef {
  if ('env' in ref || isAbsolute(ref.file)) return ref;
  return { ...ref, file: resolve(dir, ref.file) };
}

async function run(argv: string[], io: CliIo): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' },
        repo: { type: 'string' },
        address: { type: 'string' },
        user: { type: 'string' },
        'password-env': { type: 'string' },
        'kg-env': { type: 'string' },
        cipher: { type: 'string' },
        persistent: { type: 'boolean' },
        efi: { type: 'boolean' },
        wait: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    return usageError(io, e instanceof Error ? e.message : String(e));
  }
  const [action, device, ...extra] = positionals;
  if (!action) return usageError(io, 'missing ACTION (status, on, off, cycle, reset, soft, bootdev)');
  if (!(ACTIONS as readonly string[]).includes(action)) return usageError(io, `unknown action "${action}"`);
  const act = action as BmcAction;
  if (act === 'bootdev' && device !== 'pxe' && device !== 'disk') return usageError(io, 'bootdev needs "pxe" or "disk"');
  if ((act === 'bootdev' ? extra.length : device === undefined ? 0 : 1) > 0) return usageError(io, 'too many arguments');
  if ((values.persistent || values.efi) && act !== 'bootdev') return usageError(io, '--persistent and --efi apply to bootdev only');
  if (values.host && values.address) return usageError(io, 'use either --host or --address, not both');
  if (!values.host && !values.address) return usageError(io, 'missing --host NAME or --address HOST[:PORT]');
  if (values.address && !values['password-env']) return usageError(io, '--address needs --password-env VAR');
  let cipher: 3 | 17 | undefined;
  if (values.cipher !== undefined) {
    if (values.cipher !== '3' && values.cipher !== '17') return usageError(io, `--cipher must be 3 or 17, not "${values.cipher}"`);
    cipher = values.cipher === '3' ? 3 : 17;
  }
  let waitMs: number | undefined;
  if (values.wait !== undefined) {
    const w = Number(values.wait);
    if (!Number.isFinite(w) || w <= 0) return usageError(io, `--wait must be a positive number of seconds, not "${values.wait}"`);
    waitMs = w * 1000;
  }

  const env = io.env;
  const secrets: string[] = [];
  const resolver = createSecretResolver(env);
  const collecting = async (ref: SecretRef) => {
    const v = await resolver(ref);
    secrets.push(v);
    return v;
  };
  let driver: IpmiPowerDriver | undefined;
  try {
    let bmc: Bmc;
    if (values.host) {
      bmc = await bmcFromRepo(values.host, resolve(io.cwd, values.repo ?? '.'));
      if (values.user) bmc = { ...bmc, username: values.user };
      if (values['password-env']) bmc = { ...bmc, credentialsRef: { env: values['password-env'] } };
    } else {
      const a = parseAddress(values.address!);
      if (!a) return usageError(io, `--address "${values.address}" is not HOST[:PORT]`);
      bmc = {
        driver: 'ipmi',
        address: a.address,
        ...(a.port ? { port: a.port } : {}),
        username: values.user ?? DEFAULT_IPMI_USERNAME,
        credentialsRef: { env: values['password-env']! },
      };
    }
    if (cipher) bmc = { ...bmc, cipher };
    driver = new IpmiPowerDriver(collecting, {
      spacingMs: 0,
      ...(waitMs ? { verifyDeadlineMs: waitMs, softDeadlineMs: waitMs } : {}),
      ...(values['kg-env'] ? { kgRef: { env: values['kg-env'] } } : {}),
    });
    const where = describeBmc(bmc);
    const out = (text: string, json: Record<string, unknown>) =>
      io.stdout.write(values.json ? `${JSON.stringify({ bmc: where, ...json })}\n` : `${text}\n`);
    if (act === 'status') {
      const st = await driver.chassisStatus(bmc);
      const faults = [
        st.powerFault && 'power fault',
        st.powerControlFault && 'power control fault',
        st.powerOverload && 'power overload',
        st.interlock && 'interlock',
        st.fanFault && 'fan fault',
        st.driveFault && 'drive fault',
        st.intrusion && 'chassis intrusion',
      ].filter(Boolean);
      const last = Object.entries(st.lastPowerEvent)
        .filter(([, v]) => v)
        .map(([k]) => k);
      out(
        [
          `BMC ${where}: power ${st.power}`,
          `  last power event: ${last.length ? last.join(', ') : 'none'}`,
          `  faults: ${faults.length ? faults.join(', ') : 'none'}`,
          `  restore policy: ${st.restorePolicy}`,
        ].join('\n'),
        { power: st.power, chassis: st },
      );
    } else if (act === 'bootdev') {
      const dev = device as 'pxe' | 'disk';
      const boot = { persistent: values.persistent ?? false, efi: values.efi ?? false };
      await driver.bootDevice(bmc, dev, boot);
      out(`BMC ${where}: boot from ${dev} (${boot.persistent ? 'every boot' : 'next boot only'}, ${boot.efi ? 'EFI' : 'legacy'})`, {
        bootdev: dev,
        ...boot,
      });
    } else {
      await driver.set(bmc, act as PowerOp);
      const power = await driver.status(bmc);
      out(`BMC ${where}: ${act} done, power ${power}`, { action: act, power });
    }
    return EXIT.ok;
  } catch (e) {
    const err = isGoughError(e) ? e : new GoughError('internal', e instanceof Error ? e.message : String(e));
    const msg = scrubSecrets(err.message.split('\n')[0] ?? '', secrets);
    if (values.json) io.stdout.write(`${JSON.stringify({ error: { code: err.code, message: msg } })}\n`);
    io.stderr.write(`gough bmc: ${msg}\n`);
    return err.code === 'usage' ? EXIT.usage : EXIT.failed;
  } finally {
    await driver?.close();
  }
}

export const bmcCommand: Command = {
  name: 'bmc',
  summary: 'Query or control one BMC over IPMI (power, boot device)',
  help: HELP,
  run,
};
