/** `gough maas-emulator`: run the MAAS emulator standalone, seeded with a repo's MAAS-site hosts. */
import { parseArgs } from 'node:util';
import { type MaasEmulator, type SeedMachine, generateApiKey, seedMachinesFromHosts, startMaasEmulator } from '../../lab/index.js';
import { type Host, type Site, isGoughError } from '../../model/index.js';
import { loadDirectory } from '../../repo/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';

const HELP = `Usage: gough maas-emulator [--repo DIR] [--site NAME] [--port N] [--speed X] [--fail-rate R] [options]

Run the MAAS emulator (the MAAS API 2.0 server of the lab) on loopback until Ctrl-C. With --repo, every
host of the repo's MAAS sites (or of --site) is a machine in MAAS, with its MAC addresses, so that

  gough plan DIR --observed maas --site NAME

observes it. The emulator listens on the port of that site's maas.url when it is a loopback URL
(otherwise 5240), and prints its URL and an API key to export as GOUGH_MAAS_API_KEY (an already exported,
well-formed GOUGH_MAAS_API_KEY is reused). See docs/maas.md for what it emulates.

Options:
  --repo DIR          Config repository whose MAAS-site hosts become machines
  --site NAME         Only this site's hosts (default: every site with provisioner "maas")
  --initial STATE     Where the hosts start: new (default), ready, deployed, or absent (Gough must register them)
  --machines N        Also create N extra machines (emu-00001...) not in the repo: orphans, or a scale test
  --port N            Port (default: from the site's maas.url, else 5240; 0 picks a free one)
  --host ADDR         Listen address (default 127.0.0.1)
  --speed X           Time compression: 1 is MAAS-like (a deploy takes ~30 s), 10 (default) is ten times faster
  --fail-rate R       Probability 0-1 that a mutating request fails transiently (409 with Retry-After: 5)
  --latency MS        Latency added to every API request
  --api-key KEY       Use this consumer:token:secret instead of a generated one
  --log-file FILE     Append the request log to FILE as JSON lines
  -h, --help          Show this help

Emulator endpoints (no auth): GET /_emulator/log, GET /_emulator/machines, GET /_emulator/events,
POST /_emulator/faults (JSON fault configuration), POST /_emulator/machines (JSON seed machines).

Examples:
  gough maas-emulator --repo example-repo --site dc1
  gough maas-emulator --repo example-repo --initial absent --speed 50 --fail-rate 0.1
  gough maas-emulator --machines 10000 --port 0`;

function usage(io: CliIo, message: string): number {
  io.stderr.write(`gough maas-emulator: ${message}\nRun "gough maas-emulator --help" for usage.\n`);
  return EXIT.usage;
}

function num(v: string | undefined, name: string, min: number, max: number): number | undefined | Error {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) return new Error(`--${name} must be a number from ${min} to ${max}, got "${v}"`);
  return n;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  return runMaasEmulator(argv, io, untilSignal());
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** The command, stopping when `stop` resolves (tests pass their own). */
export async function runMaasEmulator(argv: string[], io: CliIo, stop: Promise<void>): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        repo: { type: 'string' },
        site: { type: 'string' },
        initial: { type: 'string' },
        machines: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        speed: { type: 'string' },
        'fail-rate': { type: 'string' },
        latency: { type: 'string' },
        'api-key': { type: 'string' },
        'log-file': { type: 'string' },
      },
      allowPositionals: false,
      strict: true,
    }) as { values: Record<string, string | undefined> });
  } catch (e) {
    return usage(io, e instanceof Error ? e.message : String(e));
  }
  const port = num(values['port'], 'port', 0, 65535);
  const speed = num(values['speed'], 'speed', 0.001, 100_000);
  const failRate = num(values['fail-rate'], 'fail-rate', 0, 1);
  const latency = num(values['latency'], 'latency', 0, 600_000);
  const extra = num(values['machines'], 'machines', 0, 1_000_000);
  for (const v of [port, speed, failRate, latency, extra]) if (v instanceof Error) return usage(io, v.message);
  const initial = values['initial'] ?? 'new';
  if (!['new', 'ready', 'deployed', 'absent'].includes(initial)) return usage(io, `--initial must be new, ready, deployed or absent, got "${initial}"`);
  let apiKey = values['api-key'] ?? io.env['GOUGH_MAAS_API_KEY'];
  if (apiKey !== undefined && !/^[^:\s]+:[^:\s]+:[^:\s]+$/.test(apiKey)) {
    if (values['api-key'] !== undefined) return usage(io, '--api-key must be "consumer:token:secret"');
    apiKey = undefined;
  }
  apiKey ??= generateApiKey();

  const seeds: SeedMachine[] = [];
  let defaultPort = 5240;
  if (values['repo'] !== undefined) {
    const dir = values['repo'];
    const root = dir.startsWith('/') ? dir : `${io.cwd}/${dir}`;
    let hosts: Host[];
    let sites: Site[];
    try {
      const { desired } = await loadDirectory(root);
      sites = desired.sites.filter((s) => s.spec.provisioner === 'maas' && (values['site'] === undefined || s.metadata.name === values['site']));
      if (values['site'] !== undefined && sites.length === 0) {
        io.stderr.write(`gough maas-emulator: the repo has no MAAS site "${values['site']}"\n`);
        return EXIT.failed;
      }
      const names = new Set(sites.map((s) => s.metadata.name));
      hosts = desired.hosts.filter((h) => names.has(h.spec.site));
      for (const s of sites) {
        const u = s.spec.maas?.url ? safeUrl(s.spec.maas.url) : undefined;
        if (u && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) && u.port) {
          defaultPort = Number(u.port);
          break;
        }
      }
    } catch (e) {
      io.stderr.write(`gough maas-emulator: cannot read "${dir}": ${isGoughError(e) || e instanceof Error ? e.message : String(e)}\n`);
      return EXIT.failed;
    }
    seeds.push(...seedMachinesFromHosts(hosts, { initial, sites }));
  }
  const n = (extra as number | undefined) ?? 0;
  for (let i = 1; i <= n; i++) {
    const hex = i.toString(16).padStart(6, '0');
    seeds.push({
      hostname: `emu-${String(i).padStart(5, '0')}`,
      macs: [`02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`],
      status: initial === 'absent' ? 'new' : initial,
    });
  }

  let emu: MaasEmulator;
  try {
    const opts: Parameters<typeof startMaasEmulator>[0] = {
      port: (port as number | undefined) ?? defaultPort,
      host: values['host'] ?? '127.0.0.1',
      timeFactor: 1 / ((speed as number | undefined) ?? 10),
      machines: seeds,
      apiKey,
      faults: {
        ...(failRate !== undefined ? { failRate: failRate as number } : {}),
        ...(latency !== undefined ? { latencyMs: latency as number } : {}),
      },
    };
    if (values['log-file'] !== undefined) opts.logFile = values['log-file'];
    emu = await startMaasEmulator(opts);
  } catch (e) {
    io.stderr.write(`gough maas-emulator: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failed;
  }
  io.stdout.write(
    [
      `MAAS emulator listening on ${emu.url} (${seeds.length} machine${seeds.length === 1 ? '' : 's'}, speed ${(speed as number | undefined) ?? 10}x)`,
      'To use it, export its API key:',
      `  export GOUGH_MAAS_API_KEY='${emu.apiKey}'`,
      `Request log: ${emu.url.replace(/\/MAAS$/, '')}/_emulator/log  (Ctrl-C stops)`,
      '',
    ].join('\n'),
  );
  await stop;
  await emu.close();
  io.stdout.write('MAAS emulator stopped\n');
  return EXIT.ok;
}

function safeUrl(u: string): URL | undefined {
  try {
    return new URL(u);
  } catch {
    return undefined;
  }
}

export const maasEmulatorCommand: Command = {
  name: 'maas-emulator',
  summary: 'Run the MAAS emulator with a repo\'s MAAS-site hosts as machines',
  help: HELP,
  run,
};
