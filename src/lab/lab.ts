/**
 * `gough lab`: one process with a MAAS emulator on loopback, the example repo copied into a local Git repo,
 * the daemon reconciling it (file watch), status committed to the local status branch, the PR-comment text of
 * each revision written to the state directory, the status page on 127.0.0.1, and progress on the terminal.
 *
 * The lab only orchestrates; the concrete parts (loader, emulator, daemon, HTTP server) are passed in by the
 * composition root (`cli/commands/lab.ts`), so this module depends on nothing but the model and the view.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { DaemonEvent, DaemonView } from '../daemon/index.js';
import { GoughError } from '../model/index.js';
import type { Host, Site } from '../model/index.js';
import { GENERATED_LABEL, generateHosts } from './fleet.js';
import { LAB_BRANCH, ensureLabRepo, writeGeneratedHosts } from './lab-repo.js';
import { ProgressPrinter } from './progress.js';
import { labPaths } from './state-dir.js';
import type { LabPaths } from './state-dir.js';

export const STATUS_BRANCH = 'gough/status';

export type LabOptions = {
  /** The example repository to copy on first run. */
  source: string;
  stateDir: string;
  /** Extra generated hosts (copies of a MAAS host). */
  hosts: number;
  /** Emulator time factor: MAAS durations are multiplied by it (0.1 = ten times faster than a real MAAS). */
  timeFactor: number;
  /** Probability (0-1) that a deployment fails in the emulator. */
  failRate: number;
  port: number;
  /** Address the status page listens on (default 127.0.0.1). */
  listen?: string;
  /** Only run the MAAS emulator (print its URL and key), no daemon. */
  emulatorOnly: boolean;
};

export type RepoHosts = { sites: Site[]; hosts: Host[]; errors: string[] };

export type LabEmulator = { url: string; apiKey: string; close(): Promise<void> };

/** The daemon as the lab drives it: its view plus start/stop. */
export type LabDaemon = DaemonView & { start(): Promise<void>; stop(): Promise<void> };

export type LabDaemonOptions = {
  repoDir: string;
  branch: string;
  statusBranch: string;
  paths: LabPaths;
  /** Sites the lab daemon serves (MAAS sites; they all talk to the emulator). */
  sites: Site[];
  emulator: { url: string; apiKey: string };
  logger: Logger;
  signal: AbortSignal;
};

export type LabDeps = {
  /** Loads the lab repo's working tree (sites and hosts; errors as formatted diagnostics). */
  loadRepo(dir: string, signal: AbortSignal): Promise<RepoHosts>;
  startEmulator(opts: { timeFactor: number; failRate: number; hosts: Host[]; port?: number }): Promise<LabEmulator>;
  createDaemon(opts: LabDaemonOptions): Promise<LabDaemon>;
  createHttpServer(view: DaemonView): Server;
  /** Writes the PR-comment Markdown for `revision` (plan preview against the emulator) and resolves its text. */
  writeComment?(revision: string, daemon: LabDaemon, signal: AbortSignal): Promise<string | undefined>;
  logger: Logger;
};

export type LabIo = { stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }; stderr: NodeJS.WritableStream };

export type RunningLab = {
  paths: LabPaths;
  url?: string;
  emulator: LabEmulator;
  daemon?: LabDaemon;
  /** Resolves when the lab stopped (after `stop()`). */
  stopped: Promise<void>;
  stop(): Promise<void>;
};

/** Starts everything; resolves once the status page listens (the daemon keeps converging in the background). */
export async function startLab(opts: LabOptions, deps: LabDeps, io: LabIo): Promise<RunningLab> {
  const paths = labPaths(opts.stateDir);
  const ac = new AbortController();
  const { signal } = ac;
  const log = deps.logger.child({ component: 'lab' });
  const out = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  await mkdir(paths.root, { recursive: true });

  // 1. The lab repository (kept across runs) and the generated hosts.
  const repo = await ensureLabRepo({ source: opts.source, dir: paths.repo, signal });
  out(`${repo.created ? 'Created' : 'Using'} lab repository ${paths.repo} (branch ${LAB_BRANCH})`);
  let loaded = await deps.loadRepo(paths.repo, signal);
  const maasSites = loaded.sites.filter((s) => s.spec.provisioner === 'maas');
  if (maasSites.length === 0) {
    throw new GoughError('config-error', `Cannot start the lab: the repository "${paths.repo}" has no MAAS site`);
  }
  const maasSiteNames = new Set(maasSites.map((s) => s.metadata.name));
  const baseHost = loaded.hosts.find((h) => maasSiteNames.has(h.spec.site) && !h.metadata.name.startsWith('lab-'));
  if (opts.hosts > 0 && !baseHost) {
    throw new GoughError('config-error', 'Cannot generate lab hosts: the repository has no host in a MAAS site to copy');
  }
  const repoHosts = loaded.hosts.filter((h) => h.metadata.labels?.[GENERATED_LABEL] === undefined);
  const generated = baseHost
    ? generateHosts(baseHost, opts.hosts, {
        taken: {
          names: repoHosts.map((h) => h.metadata.name),
          macs: repoHosts.flatMap((h) => h.spec.hardware.macs),
          addresses: repoHosts.flatMap((h) => [h.spec.network?.address, h.spec.hardware.bmc?.address].filter((a): a is string => a !== undefined)),
        },
      })
    : [];
  await writeGeneratedHosts(paths.repo, generated, { signal });
  loaded = await deps.loadRepo(paths.repo, signal);
  if (loaded.errors.length > 0) {
    out(`The lab repository has ${loaded.errors.length} problem(s); the daemon will report them and keep the last valid revision:`);
    for (const e of loaded.errors.slice(0, 10)) out(`  ${e}`);
  }
  for (const s of loaded.sites) {
    if (s.spec.provisioner !== 'maas') {
      const n = loaded.hosts.filter((h) => h.spec.site === s.metadata.name).length;
      out(
        `Site ${s.metadata.name} (${s.spec.provisioner}, ${n} hosts) is not emulated in the lab: it needs real PXE clients; see docs/lab.md`,
      );
    }
  }
  const labHosts = loaded.hosts.filter((h) => maasSiteNames.has(h.spec.site));

  // 2. The MAAS emulator with the hosts as virtual machines (New, with their MACs).
  const emulator = await deps.startEmulator({ timeFactor: opts.timeFactor, failRate: opts.failRate, hosts: labHosts });
  await writeFile(paths.emulatorFile, `${JSON.stringify({ url: emulator.url, pid: process.pid }, null, 2)}\n`, { mode: 0o600 });
  out(`MAAS emulator: ${emulator.url} (${labHosts.length} machines, time factor ${opts.timeFactor}${opts.failRate > 0 ? `, deployment fail rate ${opts.failRate}` : ''})`);

  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });

  if (opts.emulatorOnly) {
    const ref = maasSites[0]?.spec.maas?.apiKeyRef;
    const keyVar = ref !== undefined && 'env' in ref ? ref.env : 'MAAS_API_KEY';
    out(`API key: ${emulator.apiKey}`);
    out('');
    out('Plan against it (the API key goes where the site\'s apiKeyRef points):');
    out(`  export ${keyVar}='${emulator.apiKey}'`);
    out(`  gough plan ${paths.repo} --observed lab --state-dir ${paths.root}`);
    out(`  gough plan ${paths.repo} --observed maas --maas-url ${emulator.url}   # the same, naming the URL`);
    out('Press Ctrl-C to stop.');
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        ac.abort();
        await emulator.close();
        await rm(paths.emulatorFile, { force: true });
        resolveStopped();
      })();
      return stopping;
    };
    return { paths, emulator, stopped, stop };
  }

  // 3. The daemon, the HTTP face and progress. Whatever started is stopped again when a later step fails.
  let daemon: LabDaemon | undefined;
  let server: Server | undefined;
  try {
    daemon = await deps.createDaemon({
      repoDir: paths.repo,
      branch: LAB_BRANCH,
      statusBranch: STATUS_BRANCH,
      paths,
      sites: maasSites,
      emulator: { url: emulator.url, apiKey: emulator.apiKey },
      logger: deps.logger,
      signal,
    });
    const srv = deps.createHttpServer(daemon);
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new GoughError('config-error', `Cannot serve the status page on ${opts.listen ?? '127.0.0.1'}:${opts.port}: ${e.code ?? e.message}`, { cause: e }),
        ),
      );
      srv.listen(opts.port, opts.listen ?? '127.0.0.1', () => resolve());
    });
  } catch (e) {
    ac.abort();
    await daemon?.stop().catch(() => undefined);
    if (server?.listening) await new Promise<void>((r) => server?.close(() => r()));
    await emulator.close();
    await rm(paths.emulatorFile, { force: true });
    throw e;
  }
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address}:${addr.port}/`;
  out(`Status page: ${url}`);
  out(`Edit and commit files in ${paths.repo}; the daemon acts within a second. Status: git -C ${paths.repo} log ${STATUS_BRANCH}`);
  out(`PR-comment previews: ${paths.comments}/<revision>.md`);
  out('Press Ctrl-C to stop.');

  const progress = new ProgressPrinter({ out: io.stdout });
  let timer: NodeJS.Timeout | undefined;
  const seen = new Set<string>();
  const comments: Promise<unknown>[] = [];
  const onEvent = (e: DaemonEvent): void => {
    if (e.type === 'revision' && !seen.has(e.revision)) {
      seen.add(e.revision);
      if (!e.valid) progress.line(`Revision ${e.revision.slice(0, 10)} is invalid (${e.errors} errors): not applied; see the status page`);
      if (deps.writeComment) {
        comments.push(
          deps.writeComment(e.revision, daemon, signal).then(
            (file) => {
              if (file) log.info({ revision: e.revision, file }, 'wrote PR comment preview');
            },
            (err: unknown) => log.warn({ err, revision: e.revision }, 'cannot write the PR comment preview'),
          ),
        );
      }
    }
    if (e.type === 'action-finished' && e.outcome === 'failed') progress.line(`${e.host}: ${e.kind} failed: ${e.message}`);
    if (timer === undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        progress.update(daemon.snapshot());
      }, 100);
    }
  };
  const unsubscribe = daemon.subscribe(onEvent);
  await daemon.start();

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unsubscribe();
      clearTimeout(timer);
      progress.finish();
      ac.abort();
      await daemon.stop().catch((err: unknown) => log.warn({ err }, 'daemon stop failed'));
      await Promise.allSettled(comments);
      await new Promise<void>((r) => server.close(() => r()));
      await emulator.close();
      await rm(paths.emulatorFile, { force: true });
      resolveStopped();
    })();
    return stopping;
  };
  return { paths, url, emulator, daemon, stopped, stop };
}

/** `comments/<revision>.md` under the state directory. */
export function commentPath(paths: LabPaths, revision: string): string {
  return join(paths.comments, `${revision}.md`);
}
