/** `gough lab`: the whole loop on a laptop — MAAS emulator, lab Git repo, daemon, status page. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { Journal } from '../../apply/index.js';
import { createHttpServer } from '../../daemon/http.js';
import { Daemon, resolveDaemonConfig } from '../../daemon/index.js';
import type { DaemonConfig } from '../../daemon/index.js';
import { MaasClient, MaasProvisioner } from '../../drivers/maas/index.js';
import { GitSource, GitStatusWriter } from '../../git/index.js';
import type { LabDaemon, LabDaemonOptions, LabDeps, LabOptions, LabPaths, RepoHosts } from '../../lab/index.js';
import { LAB_BRANCH, commentPath, labPaths, resolveStateDir, seedMachinesFromHosts, startLab, startMaasEmulator } from '../../lab/index.js';
import { isGoughError } from '../../model/index.js';
import type { DesiredHost, DesiredState, Site } from '../../model/index.js';
import { plan } from '../../plan/index.js';
import { renderPlanMarkdown } from '../../report/index.js';
import { formatDiagnostic, hasErrors, loadDirectory, loadRepo } from '../../repo/index.js';
import type { ParsedFile } from '../../repo/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';
import { createLogger } from '../logger.js';

const SPEEDS: Record<string, number> = { real: 1, slow: 2, normal: 10, fast: 50, instant: 500 };

const HELP = `Usage: gough lab [options]

Run the whole Gough loop on this machine, with no hardware: a MAAS emulator on
loopback with the example repository's hosts as virtual machines, the example
repository copied into a local Git repository, the daemon reconciling it (it
watches the branch: commit a change and it is acted on within a second), status
committed to the local status branch (gough/status), the PR-comment text of each
revision written to the state directory, and the status page on
http://127.0.0.1:8080. Progress is printed while the fleet converges.

Ctrl-C (or SIGTERM) stops everything; nothing keeps running.

Options:
  --hosts N          Add N generated hosts (copies of a MAAS host of the repo) to
                     scale the fleet (default 0)
  --speed X          How much faster than a real MAAS the emulator runs: a number
                     (10 = ten times faster) or real, slow, normal (10), fast (50),
                     instant (500). Default: normal (a deployment takes ~3 s)
  --fail-rate P      Probability (0-1) that a deployment fails, to see how failures
                     look (default 0)
  --port PORT        Status page port on 127.0.0.1 (default 8080; 0 picks a free one)
  --state-dir DIR    Where the lab keeps its repository, journal and PR comments
                     (default: $XDG_STATE_HOME/gough/lab, else .state/lab)
  --source DIR       Repository copied on the first run (default: the package's
                     example-repo)
  --emulator-only    Only run the MAAS emulator and print its URL and API key
                     (to try "gough plan" against it)
  --log-level LEVEL  JSON log level (default info); logs go to STATE_DIR/lab.log
  -h, --help         Show this help

The lab repository is kept between runs (your edits survive); delete the state
directory to start over. Site edge1 (built-in PXE) is not emulated: see docs/lab.md.

Examples:
  npm run lab
  gough lab --hosts 50 --speed fast
  gough lab --fail-rate 0.3
  gough lab --emulator-only --port 0`;

type Values = {
  hosts?: string;
  speed?: string;
  'fail-rate'?: string;
  port?: string;
  'state-dir'?: string;
  source?: string;
  'emulator-only'?: boolean;
  'log-level'?: string;
};

function usageError(io: CliIo, msg: string): number {
  io.stderr.write(`gough lab: ${msg}\nRun "gough lab --help" for usage.\n`);
  return EXIT.usage;
}

/** The package's example-repo (from `dist/cli/commands/` or `src/cli/commands/`). */
function defaultSource(cwd: string): string {
  const pkg = fileURLToPath(new URL('../../../example-repo/', import.meta.url));
  if (existsSync(pkg)) return pkg;
  return resolve(cwd, 'example-repo');
}

/** Parses `--speed` into the emulator's time factor. */
export function timeFactorOf(speed: string): number | undefined {
  const named = SPEEDS[speed];
  const n = named ?? Number(speed);
  if (!Number.isFinite(n) || n <= 0 || n > 10_000) return undefined;
  return 1 / n;
}

async function loadHosts(dir: string): Promise<RepoHosts> {
  const { desired, diagnostics } = await loadDirectory(dir);
  return {
    sites: desired.sites,
    hosts: desired.hosts,
    errors: diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d)),
  };
}

function desiredHostsOf(desired: DesiredState, site: string): DesiredHost[] {
  const sites = new Map(desired.sites.map((s) => [s.metadata.name, s]));
  const out: DesiredHost[] = [];
  for (const host of desired.hosts) {
    const s = sites.get(host.spec.site);
    const rendered = desired.rendered.get(host.metadata.name);
    if (!s || !rendered || host.spec.site !== site) continue;
    out.push({ host, site: s, revision: desired.revision, rendered });
  }
  return out;
}

function provisionerFor(site: Site, emulator: { url: string; apiKey: string }, logger: Logger): MaasProvisioner {
  const client = new MaasClient({ url: emulator.url, apiKey: emulator.apiKey, logger: logger.child({ component: 'maas', site: site.metadata.name }) });
  return new MaasProvisioner({ client, site, pollIntervalMs: 50, logger: logger.child({ component: 'maas', site: site.metadata.name }) });
}

/**
 * Writes `comments/<revision>.md`: the Markdown Gough would post on a pull request at `revision` — the plan of
 * each lab site against what the emulator shows now, or the revision's errors when it is invalid.
 */
/** Parsed files by blob id for the comment previews (blobs never change, so entries never go stale). */
const commentCache = new Map<string, ParsedFile>();

async function writeComment(
  paths: LabPaths,
  revision: string,
  emulator: { url: string; apiKey: string } | undefined,
  logger: Logger,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (!emulator) return undefined;
  const src = await GitSource.open({ path: paths.repo, branch: LAB_BRANCH });
  const { desired, diagnostics } = await loadRepo(src.reader(revision), { revision, signal, cache: commentCache });
  const parts: string[] = [];
  if (hasErrors(diagnostics)) {
    const errs = diagnostics.filter((d) => d.severity === 'error');
    parts.push(
      `### Gough plan for \`${revision}\``,
      '',
      `**The revision is invalid (${errs.length} ${errs.length === 1 ? 'error' : 'errors'}); nothing is applied.**`,
      '',
      ...errs.slice(0, 200).map((d) => `- \`${formatDiagnostic(d).replaceAll('`', "'")}\``),
      '',
    );
  } else {
    const now = new Date().toISOString();
    for (const site of desired.sites.filter((s) => s.spec.provisioner === 'maas')) {
      const observed = await provisionerFor(site, emulator, logger).observe(desiredHostsOf(desired, site.metadata.name), { signal });
      const p = plan(desired, { observedAt: now, hosts: observed }, { now, approvals: [], inFlight: [], site: site.metadata.name });
      parts.push(renderPlanMarkdown(p, { title: `Gough plan (site ${site.metadata.name})`, fullPlanHint: 'the gough/status branch' }));
    }
  }
  await mkdir(paths.comments, { recursive: true });
  const file = commentPath(paths, revision);
  await writeFile(file, parts.join('\n'));
  return file;
}

/** Wires the reconciler core's daemon to the lab repository (watched branch) and the emulator. */
async function createLabDaemon(o: LabDaemonOptions, logLevel: DaemonConfig['log']['level']): Promise<LabDaemon> {
  const config = resolveDaemonConfig(
    undefined,
    {
      repoPath: o.repoDir,
      branch: o.branch,
      sites: o.sites.map((s) => s.metadata.name),
      stateDir: o.paths.root,
      watch: true,
      // Passes also run on a short interval so lifecycle changes show up live on the status page.
      pollSeconds: 2,
      statusEnabled: true,
      statusBranch: o.statusBranch,
      providerPollMs: 50,
      shutdownGraceSeconds: 2,
      backoffSeconds: 1,
      logLevel,
    },
    { baseDir: o.paths.root, where: '(lab)' },
  );
  const source = await GitSource.open({ path: o.repoDir, branch: o.branch });
  const journal = Journal.open(o.paths.journal);
  const writers = new Map<string, GitStatusWriter>();
  return new Daemon({
    config,
    source,
    journal,
    provisioner: (site) => provisionerFor(site, o.emulator, o.logger),
    cache: Daemon.defaultCache(o.paths.root),
    statusWriter: (site) => {
      let w = writers.get(site);
      if (!w) {
        w = new GitStatusWriter(source, { site, branch: o.statusBranch, author: { name: 'gough lab', email: 'lab@gough.invalid' } });
        writers.set(site, w);
      }
      return w;
    },
    logger: o.logger,
  });
}

/** The concrete parts of the lab: the repo loader, the MAAS emulator, the daemon and its HTTP face. */
export function labDeps(paths: LabPaths, logger: Logger, level: DaemonConfig['log']['level'] = 'info'): LabDeps {
  let emulator: { url: string; apiKey: string } | undefined;
  return {
    logger,
    loadRepo: (dir) => loadHosts(dir),
    async startEmulator(o) {
      const e = await startMaasEmulator({
        host: '127.0.0.1',
        timeFactor: o.timeFactor,
        faults: o.failRate > 0 ? { deployFailRate: o.failRate } : {},
        machines: seedMachinesFromHosts(o.hosts),
      });
      emulator = e;
      return e;
    },
    createDaemon: (o: LabDaemonOptions): Promise<LabDaemon> => createLabDaemon(o, level),
    createHttpServer: (view) => createHttpServer({ view, logger }),
    writeComment: (revision, _daemon, signal) => writeComment(paths, revision, emulator, logger, signal),
  };
}

async function run(argv: string[], io: CliIo): Promise<number> {
  let values: Values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        hosts: { type: 'string' },
        speed: { type: 'string' },
        'fail-rate': { type: 'string' },
        port: { type: 'string' },
        'state-dir': { type: 'string' },
        source: { type: 'string' },
        'emulator-only': { type: 'boolean' },
        'log-level': { type: 'string' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    return usageError(io, e instanceof Error ? e.message : String(e));
  }
  const hosts = Number(values.hosts ?? '0');
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > 10_000) return usageError(io, `--hosts must be a whole number from 0 to 10000, got "${values.hosts}"`);
  const timeFactor = timeFactorOf(values.speed ?? 'normal');
  if (timeFactor === undefined) return usageError(io, `--speed must be a positive number or one of ${Object.keys(SPEEDS).join(', ')}, got "${values.speed}"`);
  const failRate = Number(values['fail-rate'] ?? '0');
  if (!Number.isFinite(failRate) || failRate < 0 || failRate > 1) return usageError(io, `--fail-rate must be between 0 and 1, got "${values['fail-rate']}"`);
  const port = Number(values.port ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) return usageError(io, `--port must be a port number, got "${values.port}"`);
  const level = values['log-level'] ?? io.env.GOUGH_LOG_LEVEL ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(level)) return usageError(io, `unknown log level "${level}"`);

  const stateDir = resolveStateDir({ stateDir: values['state-dir'], env: io.env, cwd: io.cwd });
  const source = values.source === undefined ? defaultSource(io.cwd) : resolve(io.cwd, values.source);
  const opts: LabOptions = { source, stateDir, hosts, timeFactor, failRate, port, emulatorOnly: values['emulator-only'] === true };

  await mkdir(stateDir, { recursive: true });
  const logDest = pino.destination({ dest: join(stateDir, 'lab.log'), sync: false, mkdir: true });
  const logger = createLogger({ level: level as 'info', destination: logDest, base: { component: 'gough' } });

  const deps = labDeps(labPaths(stateDir), logger, level as DaemonConfig['log']['level']);

  let lab: Awaited<ReturnType<typeof startLab>>;
  try {
    lab = await startLab(opts, deps, { stdout: io.stdout, stderr: io.stderr });
  } catch (e) {
    io.stderr.write(`gough lab: ${isGoughError(e) ? e.message : e instanceof Error ? e.message : String(e)}\n`);
    logger.flush();
    return EXIT.failed;
  }
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    io.stdout.write(`\nStopping (${sig})…\n`);
    void lab.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await lab.stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  io.stdout.write('Lab stopped.\n');
  await new Promise<void>((r) => logger.flush(() => r()));
  return EXIT.ok;
}

export const labCommand: Command = { name: 'lab', summary: 'Run the whole loop locally: MAAS emulator, lab repo, daemon, status page', help: HELP, run };
