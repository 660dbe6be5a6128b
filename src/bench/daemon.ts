/**
 * The daemon loop at 1,000 and 10,000 hosts: push → first action latency via the branch watch and via a signed
 * push webhook (targets ≤ 100 ms and ≤ 1 s, flat in fleet size), and RSS when idle. "Push" is the moment the branch
 * moves: the commit's objects are written first (git's work, which grows with the repository, not the daemon's), then
 * the bench moves the branch as git does (`main.lock` renamed over the loose ref `main`, what `git push` and
 * `git commit` do last) and the clock starts at that rename. The repository is local (the
 * webhook figure has no network fetch in it); the provisioner answers from memory (the fleet converged), so the
 * figures are the daemon's own: resolve, load (parse cache warm), observe, plan, dispatch. Each push edits one host,
 * so its first action comes from the focused pass; a last series runs under a fleet-wide `maxUnavailable` policy,
 * where the full plan decides (it counts every host), which is not flat by nature.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import pino from 'pino';
import { Journal } from '../apply/index.js';
import { Daemon, resolveDaemonConfig } from '../daemon/index.js';
import { signBody } from '../forge/index.js';
import { GitSource } from '../git/index.js';
import type { Action, DesiredHost, ObservedHost, Outcome, Provisioner } from '../model/index.js';
import { gitAsync, syntheticGitRepo } from './git.js';
import { type Benchmark, table } from './harness.js';

/** A converged fleet in memory: every host deployed; power actions take effect at once. */
class MemoryWorld implements Provisioner {
  readonly kind = 'memory';
  performed: { action: Action; at: number }[] = [];
  readonly #power = new Map<string, 'on' | 'off'>();
  async observe(hosts: readonly DesiredHost[]): Promise<ObservedHost[]> {
    return hosts.map((h) => ({
      name: h.host.metadata.name,
      site: h.host.spec.site,
      lifecycle: 'deployed',
      power: this.#power.get(h.host.metadata.name) ?? 'on',
      deployedSpecHash: h.rendered.specHash,
      deployedRevision: h.revision,
      provider: { kind: 'memory', id: h.host.metadata.name, status: 'Deployed' },
      errors: [],
    }));
  }
  async perform(action: Action): Promise<Outcome> {
    this.performed.push({ action, at: performance.now() });
    if (action.kind === 'power-off') this.#power.set(action.host, 'off');
    if (action.kind === 'power-on') this.#power.set(action.host, 'on');
    return { message: 'done' };
  }
}

const SECRET = 'bench-webhook-secret';
const COUNTING_POLICY = `apiVersion: gough.dev/v1
kind: Policy
metadata:
  name: fleet
spec:
  selector: {}
  maxUnavailable: 10%
`;
/** Pushes per trigger and fleet size; the first WARM_UP are reported only as "first push after the start". */
const PUSHES = 10;
const WARM_UP = 3;
/** How long the restarted daemon idles before its first push. */
const RESTART_IDLE_MS = 3000;

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error('Timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function measureFleet(hosts: number, print: (l: string) => void): Promise<(string | number)[][]> {
  // Without policies: their windows would (rightly) hold the change.
  const { dir, hostFiles } = await syntheticGitRepo(hosts, { policies: false });
  const state = mkdtempSync(join(tmpdir(), 'gough-bench-daemon-'));
  const rows: (string | number)[][] = [];
  const logger: Logger = pino({ level: 'silent' });
  const world = new MemoryWorld();
  const mk = async (watch: boolean) => {
    const config = resolveDaemonConfig(
      undefined,
      { repoPath: dir, stateDir: state, pollSeconds: 0, watch, statusEnabled: false, listen: '', webhookSecretEnv: 'X' },
      { baseDir: state },
    );
    return new Daemon({
      config,
      source: await GitSource.open({ path: dir, branch: 'main' }),
      journal: Journal.open(join(state, 'journal.sqlite')),
      cache: Daemon.defaultCache(state),
      provisioner: () => world,
      webhookSecret: SECRET,
      logger,
    });
  };
  let flip = 0;
  /**
   * Writes a one-host commit's objects (git's own work, not timed), then returns the push itself: moving the
   * branch, as `git push` or `git commit` does last. The clock starts before that `git update-ref` process runs.
   */
  const prepareCommit = async (): Promise<{ push: () => Promise<number>; commit: string }> => {
    const path = hostFiles[flip++ % hostFiles.length]!;
    const f = join(dir, path);
    writeFileSync(f, readFileSync(f, 'utf8').replace('power: "on"', 'power: "off"'));
    await gitAsync(dir, ['add', path]);
    const tree = await gitAsync(dir, ['write-tree']);
    const parent = await gitAsync(dir, ['rev-parse', 'HEAD']);
    const commit = await gitAsync(dir, ['commit-tree', tree, '-p', parent, '-m', `power off ${flip}`]);
    return {
      commit,
      push: async () => {
        // As git moves a loose ref: the new id into `main.lock`, then an atomic rename over `main`. The clock starts
        // before the rename, the moment the branch moves (not before a git process's ~15–20 ms start-up).
        const lock = join(dir, '.git', 'refs', 'heads', 'main.lock');
        writeFileSync(lock, `${commit}\n`);
        const t = performance.now();
        renameSync(lock, join(dir, '.git', 'refs', 'heads', 'main'));
        return t;
      },
    };
  };
  try {
    // Watch.
    let d = await mk(true);
    const t0 = performance.now();
    await d.start();
    await d.settled();
    rows.push([hosts, 'first pass, cold (empty parse cache)', performance.now() - t0]);
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 200));
    rows.push([hosts, 'RSS idle (MiB)', process.memoryUsage.rss() / 2 ** 20]);
    const watched = await pushes(d, world, prepareCommit, async () => {});
    print(`(${hosts} hosts, watch, every push in order, ms: ${watched.map((x) => x.toFixed(0)).join(' ')})`);
    rows.push(...latencyRows(hosts, 'watch', watched));
    await d.stop(1000);

    // Webhook (a restarted daemon: parse cache on disk).
    d = await mk(false);
    const t1 = performance.now();
    await d.start();
    await d.settled();
    rows.push([hosts, 'first pass after restart (parse cache warm)', performance.now() - t1]);
    // Idle a moment, as a restarted daemon usually is before the next push: it indexes the revision it reused from the
    // store (1 s after the load, then a full load), so that push is incremental.
    await new Promise((r) => setTimeout(r, RESTART_IDLE_MS));
    const hook = async (commit: string): Promise<void> => {
      const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: commit }));
      const r = await d.handleWebhook({ 'x-github-event': 'push', 'x-hub-signature-256': signBody(SECRET, body) }, body);
      if (r.status !== 202) throw new Error(`Webhook answered ${r.status}`);
    };
    const hooked = await pushes(d, world, prepareCommit, hook);
    print(`(${hosts} hosts, webhook, every push in order, ms: ${hooked.map((x) => x.toFixed(0)).join(' ')})`);
    rows.push(...latencyRows(hosts, 'webhook', hooked));

    // A policy that counts hosts (maxUnavailable over the whole fleet): a power-off is then decided by the full
    // plan, which needs every host's observation, not by the focused pass (see docs/daemon.md).
    writeFileSync(join(dir, 'policy-fleet.yaml'), COUNTING_POLICY);
    await gitAsync(dir, ['add', 'policy-fleet.yaml']);
    await gitAsync(dir, ['commit', '-q', '-m', 'fleet: at most 10% unavailable']);
    await d.runPass('policy');
    await d.settled();
    await d.drain();
    const counted = await pushes(d, world, prepareCommit, hook);
    print(`(${hosts} hosts, webhook, a maxUnavailable policy, every push in order, ms: ${counted.map((x) => x.toFixed(0)).join(' ')})`);
    rows.push(...latencyRows(hosts, 'webhook, under a maxUnavailable policy', counted).slice(1));
    await d.stop(1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
  print(`(${hosts} hosts measured)`);
  return rows;
}

/**
 * PUSHES one-host pushes, one after another (each waits for the last to settle): ms from before the branch moves
 * (then `notify`, for the webhook) to the first action reaching the provider.
 */
async function pushes(
  d: Daemon,
  world: MemoryWorld,
  prepare: () => Promise<{ push: () => Promise<number>; commit: string }>,
  notify: (commit: string) => Promise<void>,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < PUSHES; i++) {
    const before = world.performed.length;
    const { push, commit } = await prepare();
    const t = await push();
    await notify(commit);
    await waitFor(() => world.performed.length > before, 30_000);
    out.push(world.performed[before]!.at - t);
    await d.settled();
    await d.drain();
  }
  return out;
}

/**
 * The first push after a start (its code paths not yet optimised by the JIT), then the median and the slowest of
 * the pushes after WARM_UP, as a daemon that has been running for a while sees them.
 */
function latencyRows(hosts: number, via: string, ms: number[]): (string | number)[][] {
  const warm = ms.slice(WARM_UP);
  return [
    [hosts, `push (branch moves) → first action, ${via}: first push after the start${via === 'webhook' ? ` (restart, ${RESTART_IDLE_MS / 1000} s idle)` : ''} (ms)`, ms[0]!],
    [hosts, `push (branch moves) → first action, ${via}: median of pushes ${WARM_UP + 1}–${PUSHES} (ms)`, median(warm)],
    [hosts, `push (branch moves) → first action, ${via}: slowest of pushes ${WARM_UP + 1}–${PUSHES} (ms)`, Math.max(...warm)],
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export const benchmark: Benchmark = {
  name: 'daemon',
  title: 'Daemon loop: commit → first action (watch, webhook, under a counting policy), RSS idle',
  async run(print) {
    const rows: (string | number)[][] = [];
    // GOUGH_BENCH_DAEMON_SIZES=1000 measures one size (10,000 hosts adds about a minute: its cold first pass).
    const sizes = (process.env['GOUGH_BENCH_DAEMON_SIZES'] ?? '1000,10000').split(',').map(Number);
    for (const n of sizes) rows.push(...(await measureFleet(n, print)));
    for (const l of table(['hosts', 'figure', 'value (ms unless noted)'], rows)) print(l);
  },
};
