/**
 * `gough daemon --config FILE [flags]`: the reconcile loop, with its HTTP face. Also the composition shared with
 * `gough apply` (one pass, then exit): config + flags → Git source, journal, parse cache, provisioners, status.
 */
import { join } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { Journal } from '../../apply/index.js';
import { Daemon, type ConfigOverrides, type DaemonConfig, loadDaemonConfig, parseListen } from '../../daemon/index.js';
import { GitSource, GitStatusWriter } from '../../git/index.js';
import { isGoughError } from '../../model/index.js';
import type { CliIo, Command } from '../command.js';
import { EXIT } from '../command.js';
import { type Logger, createLogger } from '../logger.js';
import { createProvisioner } from '../providers.js';
import { createSecretResolver } from '../secrets.js';

export const CONFIG_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'repo-url': { type: 'string' },
  'repo-path': { type: 'string' },
  branch: { type: 'string' },
  'token-env': { type: 'string' },
  site: { type: 'string', multiple: true },
  'state-dir': { type: 'string' },
  poll: { type: 'string' },
  cron: { type: 'string' },
  watch: { type: 'boolean' },
  'no-watch': { type: 'boolean' },
  'webhook-secret-env': { type: 'string' },
  'max-provisioning': { type: 'string' },
  'max-attempts': { type: 'string' },
  'action-timeout': { type: 'string' },
  rate: { type: 'string' },
  backoff: { type: 'string' },
  'shutdown-grace': { type: 'string' },
  'status-branch': { type: 'string' },
  'no-status': { type: 'boolean' },
  listen: { type: 'string' },
  'ready-max-age': { type: 'string' },
  'provider-poll-ms': { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const CONFIG_HELP = `Configuration (a YAML file, schemas/daemon-config.schema.json; every value can be set by a flag):
  -c, --config FILE          Daemon configuration file
  --repo-url URL             Config repository over HTTP(S) (fetched into STATE_DIR/repo.git, no checkout)
  --repo-path PATH           Config repository on this machine (read in place)
  --branch NAME              Branch whose tip is the desired revision (default main)
  --token-env NAME           Environment variable holding the Git token (never the token itself)
  --site NAME                Serve this site (repeatable; default: every site in the repository)
  --state-dir DIR            Journal, parse cache and clone (default /var/lib/gough)
  --poll SECONDS             A pass at least this often (default 60; 0 disables)
  --cron EXPR                Extra passes on a cron schedule
  --no-watch                 Do not watch a local repository's branch
  --webhook-secret-env NAME  Environment variable holding the GitHub webhook secret
  --max-provisioning N       Hosts of one site provisioning at once (default 20)
  --max-attempts N           Attempts before a failure is terminal (default 3)
  --action-timeout SECONDS   Deadline of one attempt (default 1800)
  --rate N                   Provider calls per second (default 20)
  --backoff SECONDS          First retry delay, doubling with jitter (default 2)
  --shutdown-grace SECONDS   On SIGTERM, how long in-flight actions may run on (default 30)
  --status-branch NAME       Status branch (default gough/status)
  --no-status                Do not write the status branch
  --listen HOST:PORT         HTTP server (default 127.0.0.1:8080; "" disables)
  --ready-max-age SECONDS    /readyz fails when the last good pass is older (default 3 polls, ≥ 600; 0: no limit)
  --provider-poll-ms N       How often a provider re-reads a machine while verifying
  --log-level LEVEL          fatal|error|warn|info|debug|trace|silent (default info)`;

type Values = Record<string, string | boolean | string[] | undefined>;

function num(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} needs a number, got "${String(v)}"`);
  return n;
}

export class UsageError extends Error {}

export function overridesFrom(v: Values): ConfigOverrides {
  const o: ConfigOverrides = {};
  const s = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const set = <K extends keyof ConfigOverrides>(k: K, val: ConfigOverrides[K] | undefined) => {
    if (val !== undefined) o[k] = val;
  };
  set('repoUrl', s('repo-url'));
  set('repoPath', s('repo-path'));
  set('branch', s('branch'));
  set('tokenEnv', s('token-env'));
  if (Array.isArray(v.site)) o.sites = v.site;
  set('stateDir', s('state-dir'));
  set('pollSeconds', num(v.poll, 'poll'));
  set('cron', s('cron'));
  if (v['no-watch'] === true) o.watch = false;
  else if (v.watch === true) o.watch = true;
  set('webhookSecretEnv', s('webhook-secret-env'));
  set('maxProvisioning', num(v['max-provisioning'], 'max-provisioning'));
  set('maxAttempts', num(v['max-attempts'], 'max-attempts'));
  set('actionTimeoutSeconds', num(v['action-timeout'], 'action-timeout'));
  set('ratePerSecond', num(v.rate, 'rate'));
  set('backoffSeconds', num(v.backoff, 'backoff'));
  set('shutdownGraceSeconds', num(v['shutdown-grace'], 'shutdown-grace'));
  set('statusBranch', s('status-branch'));
  if (v['no-status'] === true) o.statusEnabled = false;
  set('listen', s('listen'));
  set('readyMaxAgeSeconds', num(v['ready-max-age'], 'ready-max-age'));
  set('providerPollMs', num(v['provider-poll-ms'], 'provider-poll-ms'));
  set('logLevel', s('log-level') as ConfigOverrides['logLevel']);
  return o;
}

/** Builds a Daemon from the effective configuration (the composition root for daemon and apply). */
export async function composeDaemon(cfg: DaemonConfig, io: CliIo, logger: Logger): Promise<Daemon> {
  const secrets = createSecretResolver(io.env);
  const token = cfg.repo.credentials ? await secrets(cfg.repo.credentials.tokenRef) : undefined;
  const source = cfg.repo.url
    ? await GitSource.open({
        url: cfg.repo.url,
        branch: cfg.repo.branch,
        cloneDir: join(cfg.stateDir, 'repo.git'),
        ...(token !== undefined
          ? { auth: cfg.repo.credentials?.username ? { token, username: cfg.repo.credentials.username } : { token } }
          : {}),
      })
    : await GitSource.open({ path: cfg.repo.path!, branch: cfg.repo.branch });
  const journal = Journal.open(join(cfg.stateDir, 'journal.sqlite'));
  const webhookSecret = cfg.triggers.webhook ? await secrets(cfg.triggers.webhook.secretRef) : undefined;
  const writers = new Map<string, GitStatusWriter>();
  return new Daemon({
    config: cfg,
    source,
    journal,
    cache: Daemon.defaultCache(cfg.stateDir),
    logger,
    ...(webhookSecret !== undefined ? { webhookSecret } : {}),
    provisioner: (site) =>
      createProvisioner(site, {
        secrets,
        logger,
        stateDir: cfg.stateDir,
        ...(cfg.providers.pollIntervalMs !== undefined ? { pollIntervalMs: cfg.providers.pollIntervalMs } : {}),
      }),
    statusWriter: (site) => {
      if (!cfg.status.enabled) return undefined;
      let w = writers.get(site);
      if (!w) {
        w = new GitStatusWriter(source, { site, branch: cfg.status.branch });
        writers.set(site, w);
      }
      return w;
    },
  });
}

/** Parses argv into the effective configuration; `extra` are command-specific options. */
export function parseConfigArgs<E extends ParseArgsConfig['options']>(
  argv: string[],
  io: CliIo,
  extra: E,
): { cfg: DaemonConfig; values: Values } {
  const { values } = parseArgs({ args: argv, options: { ...CONFIG_OPTIONS, ...extra }, allowPositionals: false, strict: true });
  const v = values as Values;
  const cfg = loadDaemonConfig(typeof v.config === 'string' ? v.config : undefined, overridesFrom(v), io.cwd);
  return { cfg, values: v };
}

const HELP = `Usage: gough daemon --config FILE [options]

Run the reconcile loop: every pass fetches the desired branch, loads the revision from Git objects
(parsing only blobs not seen before), observes the sites' machines, plans and applies what the plan
allows, and writes status/<site>/ on the status branch. Passes are level-triggered: the branch watch
(local repository), the poll interval, a cron schedule, GitHub push webhooks and finished actions only
make a pass happen sooner. A revision that fails validation is never applied; the daemon keeps acting
on the last good one and reports the bad one (HTTP /api/v1/status, logs).

Every action is journaled (STATE_DIR/journal.sqlite) before it touches a machine; after a crash the
journal is reconciled against a fresh observation before anything new is dispatched.

SIGTERM/SIGINT: stop dispatching, let in-flight actions finish (up to --shutdown-grace), close the
journal, exit 0.

${CONFIG_HELP}

Examples:
  gough daemon --config /etc/gough/daemon.yaml
  gough daemon --repo-path ./fleet --state-dir ./state --site dc1 --listen 127.0.0.1:8080

Reference: docs/daemon.md`;

async function run(argv: string[], io: CliIo): Promise<number> {
  let cfg: DaemonConfig;
  try {
    ({ cfg } = parseConfigArgs(argv, io, {}));
  } catch (e) {
    io.stderr.write(`gough daemon: ${(e as Error).message}\nRun "gough daemon --help" for usage.\n`);
    return isGoughError(e) && e.code !== 'config-error' ? EXIT.failed : EXIT.usage;
  }
  const logger = createLogger({ level: cfg.log.level, base: { component: 'gough' } });
  let daemon: Daemon;
  try {
    daemon = await composeDaemon(cfg, io, logger);
  } catch (e) {
    io.stderr.write(`gough daemon: ${(e as Error).message}\n`);
    return EXIT.failed;
  }
  let server: { close(cb?: (err?: Error) => void): unknown } | undefined;
  const listen = parseListen(cfg.http.listen);
  if (listen) {
    try {
      const { createHttpServer } = await import('../../daemon/http.js');
      const readyMaxAgeMs = cfg.http.readyMaxAgeSeconds > 0 ? cfg.http.readyMaxAgeSeconds * 1000 : Number.POSITIVE_INFINITY;
      const srv = createHttpServer({ view: daemon, logger, readyMaxAgeMs });
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(listen.port, listen.host, () => resolve());
      });
      const addr = srv.address();
      logger.info({ listen: typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : String(addr) }, 'HTTP server listening');
      server = srv;
    } catch (e) {
      io.stderr.write(`gough daemon: cannot listen on "${cfg.http.listen}": ${(e as Error).message}\n`);
      await daemon.stop(0);
      return EXIT.failed;
    }
  }
  await daemon.start();
  logger.info({ sites: cfg.sites, branch: cfg.repo.branch }, 'Daemon started');
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      logger.info({ signal: sig }, 'Stopping: no new actions, waiting for in-flight ones');
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve();
    };
    const onTerm = () => onSignal('SIGTERM');
    const onInt = () => onSignal('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
  });
  await daemon.stop();
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  logger.info({}, 'Stopped');
  logger.flush?.();
  return EXIT.ok;
}

export const daemonCommand: Command = { name: 'daemon', summary: 'Run the reconcile loop (Git → machines → status)', help: HELP, run };
