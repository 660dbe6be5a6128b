/**
 * The crash run: the built CLI's `gough daemon` as a child process against a MAAS emulator (in this process) with
 * the example fleet's MAAS site, killed with SIGKILL at random moments during the rollout and restarted each
 * time. Afterwards the emulator's own request log must show no host deployed or released twice for the revision,
 * and every host deployed. `test/e2e/crash.test.ts` runs it with 20 kills; `npm run soak` with 100, printing figures.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type MaasEmulator, seedMachinesFromHosts, startMaasEmulator } from '../lab/maas-emulator/index.js';
import { loadDirectory } from '../repo/index.js';

export type CrashRunOptions = {
  /** Path of the built CLI (`dist/cli/bin.js`). */
  cli: string;
  /** The example repository to roll out. */
  exampleRepo: string;
  kills: number;
  /** Kill moments are uniform in [minMs, maxMs] after each start. */
  minMs?: number;
  maxMs?: number;
  timeFactor?: number;
  /** After the last kill, how long the final daemon may take to converge. */
  convergeTimeoutMs?: number;
  random?: () => number;
  log?: (line: string) => void;
};

export type CrashRunResult = {
  kills: number;
  hosts: number;
  /** Hosts deployed at the end. */
  deployed: number;
  /** Per machine: deploy and release calls for the revision (never more than one). */
  duplicateDeploys: string[];
  duplicateReleases: string[];
  deployCalls: number;
  totalMs: number;
  convergeAfterLastKillMs: number;
  /** Starts that found open journal entries (from the kill before). */
  restartsWithOpenEntries: number;
  stderrTail: string;
};

/** Copies the example repo into a fresh local Git repository with dc1 pointed at `maasUrl` and no policies. */
export function prepareFleetRepo(exampleRepo: string, maasUrl: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gough-crash-repo-'));
  cpSync(exampleRepo, dir, { recursive: true });
  rmSync(join(dir, 'policies'), { recursive: true, force: true });
  const site = join(dir, 'sites', 'dc1.yaml');
  writeFileSync(site, readFileSync(site, 'utf8').replace('http://127.0.0.1:5240/MAAS', maasUrl));
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x.invalid' };
  execFileSync('git', ['init', '-q', '--initial-branch=main'], { cwd: dir, env });
  execFileSync('git', ['add', '-A'], { cwd: dir, env });
  execFileSync('git', ['commit', '-q', '-m', 'example fleet'], { cwd: dir, env });
  return dir;
}

function allDeployed(emulator: MaasEmulator): boolean {
  return emulator.machines().every((m) => m.status_name === 'Deployed');
}

export async function runCrashTest(opts: CrashRunOptions): Promise<CrashRunResult> {
  const log = opts.log ?? (() => undefined);
  const random = opts.random ?? Math.random;
  const minMs = opts.minMs ?? 0;
  const maxMs = opts.maxMs ?? 1200;
  const { desired } = await loadDirectory(opts.exampleRepo);
  const machines = seedMachinesFromHosts(desired.hosts, { site: 'dc1', sites: desired.sites });
  const emulator = await startMaasEmulator({ timeFactor: opts.timeFactor ?? 0.05, machines });
  const repo = prepareFleetRepo(opts.exampleRepo, emulator.url);
  const state = mkdtempSync(join(tmpdir(), 'gough-crash-state-'));
  const config = join(state, 'daemon.yaml');
  writeFileSync(
    config,
    [
      `repo: { path: ${JSON.stringify(repo)}, branch: main }`,
      'sites: [dc1]',
      `stateDir: ${JSON.stringify(join(state, 'state'))}`,
      'triggers: { pollSeconds: 0.3, watch: false }',
      'limits: { backoffSeconds: 0.05, shutdownGraceSeconds: 1 }',
      'status: { enabled: true }',
      'http: { listen: "" }',
      'providers: { pollIntervalMs: 20 }',
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  const stderrPath = join(state, 'daemon.log');
  const env = { ...process.env, GOUGH_MAAS_API_KEY: emulator.apiKey };
  let child: ChildProcess | undefined;
  const start = (): ChildProcess => {
    const fd = openSync(stderrPath, 'a');
    const c = spawn(process.execPath, [opts.cli, 'daemon', '--config', config], { env, stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    return c;
  };
  const exited = (c: ChildProcess) =>
    new Promise<void>((r) => {
      if (c.exitCode !== null || c.signalCode !== null) r();
      else c.once('exit', () => r());
    });
  const t0 = performance.now();
  let lastKill = t0;
  try {
    for (let i = 0; i < opts.kills; i++) {
      const before = emulator.requestLog().length;
      child = start();
      // Random moments once this run talks to MAAS (start-up alone takes a second or more on a busy machine).
      const c = child;
      while (emulator.requestLog().length === before && c.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      const wait = minMs + random() * (maxMs - minMs);
      await new Promise((r) => setTimeout(r, wait));
      child.kill('SIGKILL');
      await exited(child);
      lastKill = performance.now();
      const states = emulator.machines().map((m) => String(m.status_name));
      const counts = states.reduce<Record<string, number>>((a, s) => {
        a[s] = (a[s] ?? 0) + 1;
        return a;
      }, {});
      log(`kill ${i + 1}/${opts.kills} after ${Math.round(wait)} ms: ${JSON.stringify(counts)}`);
    }
    child = start();
    const deadline = performance.now() + (opts.convergeTimeoutMs ?? 60_000);
    while (!allDeployed(emulator) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const convergeAfterLastKillMs = performance.now() - lastKill;
    child.kill('SIGTERM');
    await exited(child);

    const entries = emulator.requestLog().filter((e) => e.method === 'POST');
    const per = (op: string) => {
      const m = new Map<string, number>();
      for (const e of entries) if (e.op === op && e.systemId) m.set(e.systemId, (m.get(e.systemId) ?? 0) + 1);
      return m;
    };
    const deploys = per('deploy');
    const releases = per('release');
    const names = new Map(emulator.machines().map((m) => [m.system_id, m.hostname]));
    const stderr = readFileSync(stderrPath, 'utf8');
    return {
      kills: opts.kills,
      hosts: machines.length,
      deployed: emulator.machines().filter((m) => m.status_name === 'Deployed').length,
      duplicateDeploys: [...deploys].filter(([, n]) => n > 1).map(([id, n]) => `${names.get(id) ?? id}×${n}`),
      duplicateReleases: [...releases].filter(([, n]) => n > 1).map(([id, n]) => `${names.get(id) ?? id}×${n}`),
      deployCalls: [...deploys.values()].reduce((a, b) => a + b, 0),
      totalMs: performance.now() - t0,
      convergeAfterLastKillMs,
      restartsWithOpenEntries: (stderr.match(/Reconciled journal entries left open/g) ?? []).length,
      stderrTail: stderr.split('\n').slice(-15).join('\n'),
    };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await emulator.close();
    rmSync(repo, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
}

// `npm run soak`: 100 kills, figures printed.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const kills = Number(process.env.SOAK_KILLS ?? 100);
  const r = await runCrashTest({
    cli: join(root, 'dist/cli/bin.js'),
    exampleRepo: join(root, 'example-repo'),
    kills,
    timeFactor: 0.2,
    convergeTimeoutMs: 180_000,
    log: (l) => process.stdout.write(`${l}\n`),
  });
  const rows = [
    ['kills (SIGKILL)', r.kills],
    ['hosts', r.hosts],
    ['hosts deployed at the end', r.deployed],
    ['deploy calls at MAAS', r.deployCalls],
    ['hosts deployed twice', r.duplicateDeploys.length],
    ['hosts released twice', r.duplicateReleases.length],
    ['restarts that reconciled open journal entries', r.restartsWithOpenEntries],
    ['total time (s)', (r.totalMs / 1000).toFixed(1)],
    ['converged after the last kill (s)', (r.convergeAfterLastKillMs / 1000).toFixed(1)],
  ];
  process.stdout.write(`\n| figure | value |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`);
  const ok = r.deployed === r.hosts && r.duplicateDeploys.length === 0 && r.duplicateReleases.length === 0;
  if (!ok) process.stdout.write(`\nFAILED: ${JSON.stringify({ dup: r.duplicateDeploys, rel: r.duplicateReleases })}\n${r.stderrTail}\n`);
  process.exitCode = ok ? 0 : 1;
}
