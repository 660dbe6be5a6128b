/**
 * The focused pass: after a host-only commit, the daemon observes, plans and dispatches the changed hosts before it
 * observes the whole fleet; an action a counting policy gates waits for the full pass; nothing is focused before
 * start-up recovery. A real Git repository (native git commits), the real journal and loader; the provider is an
 * in-memory fleet that records every call (the order of calls is what is asserted).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/apply/index.js';
import { gitSync, syntheticGitRepo } from '../../../src/bench/git.js';
import { Daemon, resolveDaemonConfig } from '../../../src/daemon/index.js';
import { GitSource } from '../../../src/git/index.js';
import type { Action, DesiredHost, ObservedHost, Outcome, Provisioner } from '../../../src/model/index.js';

/** Every host deployed and on; power actions take effect at once. Records `observe <hosts>` and `<kind> <host>`. */
class RecordingFleet implements Provisioner {
  readonly kind = 'memory';
  readonly calls: string[] = [];
  readonly power = new Map<string, 'on' | 'off'>();
  readonly lifecycle = new Map<string, ObservedHost['lifecycle']>();
  /**
   * When set, a power action ends only when a list of its host is taken, and that list still shows the host as it
   * was (MAAS answered the list just before the action's own check saw it done).
   */
  lag = false;
  readonly #pending = new Map<string, () => void>();
  async observe(hosts: readonly DesiredHost[]): Promise<ObservedHost[]> {
    this.calls.push(`observe ${hosts.length === 1 ? hosts[0]!.host.metadata.name : `${hosts.length} hosts`}`);
    const list = this.#list(hosts);
    const ending = hosts.flatMap((h) => {
      const end = this.#pending.get(h.host.metadata.name);
      this.#pending.delete(h.host.metadata.name);
      return end ? [end] : [];
    });
    for (const end of ending) end();
    // The executor records the ends before this (older) list reaches the daemon.
    if (ending.length > 0) await new Promise((r) => setImmediate(r));
    return list;
  }
  #list(hosts: readonly DesiredHost[]): ObservedHost[] {
    return hosts.map((h) => ({
      name: h.host.metadata.name,
      site: h.host.spec.site,
      lifecycle: this.lifecycle.get(h.host.metadata.name) ?? 'deployed',
      power: this.power.get(h.host.metadata.name) ?? 'on',
      deployedSpecHash: h.rendered.specHash,
      provider: { kind: 'memory', id: h.host.metadata.name, status: 'Deployed' },
      errors: [],
    }));
  }
  async perform(action: Action): Promise<Outcome> {
    this.calls.push(`${action.kind} ${action.host}`);
    const effect = () => {
      if (action.kind === 'power-off' || action.kind === 'power-on') this.power.set(action.host, action.power!);
    };
    if (this.lag) {
      await new Promise<void>((r) => {
        this.#pending.set(action.host, () => {
          effect();
          r();
        });
      });
    } else effect();
    return { message: 'done' };
  }
}

const POLICY = `apiVersion: gough.dev/v1
kind: Policy
metadata:
  name: databases
spec:
  selector:
    matchLabels:
      role: database
  maxUnavailable: 1
`;

let dir: string;
let state: string;
let hostFiles: string[];
const world = new RecordingFleet();
const daemons: Daemon[] = [];

beforeAll(async () => {
  // 12 hosts on 3 sites (4 each); roles go round: h000001, h000004, h000007 and h000010 are databases.
  ({ dir, hostFiles } = await syntheticGitRepo(12, { policies: false }));
  writeFileSync(join(dir, 'policy-databases.yaml'), POLICY);
  gitSync(dir, ['add', '-A']);
  gitSync(dir, ['commit', '-q', '-m', 'databases: one down at a time']);
  state = mkdtempSync(join(tmpdir(), 'gough-focused-'));
});

afterAll(async () => {
  for (const d of daemons) await d.stop(1000).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
});

async function start(): Promise<Daemon> {
  const config = resolveDaemonConfig(
    undefined,
    { repoPath: dir, stateDir: state, pollSeconds: 0, watch: false, statusEnabled: false, listen: '', webhookSecretEnv: 'X' },
    { baseDir: state },
  );
  const d = new Daemon({
    config,
    source: await GitSource.open({ path: dir, branch: 'main' }),
    journal: Journal.open(join(state, 'journal.sqlite')),
    cache: Daemon.defaultCache(state),
    provisioner: () => world,
    logger: pino({ level: 'silent' }),
  });
  daemons.push(d);
  return d;
}

/** Commits `power: "off"` for `host` (and whatever else is written), without moving anything else. */
function powerOff(host: string): void {
  const f = join(dir, hostFiles.find((p) => p.endsWith(`/${host}.yaml`))!);
  writeFileSync(f, readFileSync(f, 'utf8').replace('power: "on"', 'power: "off"'));
  gitSync(dir, ['commit', '-q', '-am', `power off ${host}`]);
}

/** One pass and what follows from it (the passes finished actions ask for): the provider calls, in order. */
async function pass(d: Daemon): Promise<string[]> {
  const from = world.calls.length;
  await d.runPass('test');
  await d.drain();
  await d.settled();
  return world.calls.slice(from);
}

const FULL = ['observe 4 hosts', 'observe 4 hosts', 'observe 4 hosts'];

describe('focused pass', () => {
  let d: Daemon;

  it('a host-only commit: the changed host is observed and its action performed before the fleet is observed', async () => {
    d = await start();
    expect(await pass(d)).toEqual(FULL);
    powerOff('h000000');
    const calls = await pass(d);
    expect(calls.slice(0, 3)).toEqual(['observe h000000', 'power-off h000000', 'observe 4 hosts']);
    expect(calls.filter((c) => c.startsWith('power-off'))).toEqual(['power-off h000000']);
    expect(world.power.get('h000000')).toBe('off');
  });

  it('an action a maxUnavailable policy gates is left to the full pass, which counts every host', async () => {
    powerOff('h000001');
    const calls = await pass(d);
    expect(calls.slice(0, 2)).toEqual(['observe h000001', 'observe 4 hosts']);
    expect(calls.filter((c) => c.startsWith('power-off'))).toEqual(['power-off h000001']);
    expect(calls.indexOf('power-off h000001')).toBeGreaterThan(calls.indexOf('observe 4 hosts'));
  });

  it('a commit that is not host-only, or no commit at all, gets no focused pass', async () => {
    expect(await pass(d)).toEqual(FULL);
    writeFileSync(join(dir, 'policy-databases.yaml'), POLICY.replace('maxUnavailable: 1', 'maxUnavailable: 2'));
    powerOff('h000006');
    const calls = await pass(d);
    expect(calls.slice(0, 3)).toEqual(FULL);
    expect(calls).toContain('power-off h000006');
  });

  it('while an earlier process\'s action is still under way, nothing is focused (the full pass reconciles it first)', async () => {
    await d.stop(1000);
    // A redeploy a crashed process left running; the provider still shows the host deploying.
    world.lifecycle.set('h000007', 'deploying');
    const journal = Journal.open(join(state, 'journal.sqlite'));
    const action: Action = { id: 'redeploy-h000007-x', host: 'h000007', site: 'site-1', kind: 'redeploy', specHash: 'x', reason: 'test', disruptive: true };
    journal.markRunning(journal.create(action, 'earlier', new Date().toISOString()).seq, new Date().toISOString());
    journal.close();
    d = await start();
    expect(await pass(d)).toEqual(FULL);
    expect(d.executor.orphanCount).toBe(1);
    // The restarted daemon reused the stored result; once idle it indexes it, so the next commit loads incrementally.
    await new Promise((r) => setTimeout(r, 1500));
    powerOff('h000003');
    const calls = await pass(d);
    expect(calls.slice(0, 3)).toEqual(FULL);
    expect(calls).toContain('power-off h000003');
    // Once the earlier action is seen done, commits are focused again.
    world.lifecycle.delete('h000007');
    await pass(d);
    expect(d.executor.orphanCount).toBe(0);
    powerOff('h000009');
    expect((await pass(d)).slice(0, 2)).toEqual(['observe h000009', 'power-off h000009']);
  });

  it('an action that ends while the fleet is observed is not issued again on that older observation', async () => {
    world.lag = true;
    try {
      powerOff('h000005');
      const calls = await pass(d);
      expect(calls.slice(0, 2)).toEqual(['observe h000005', 'power-off h000005']);
      expect(calls.filter((c) => c === 'power-off h000005')).toHaveLength(1);
      expect(world.power.get('h000005')).toBe('off');
    } finally {
      world.lag = false;
    }
  });
});
