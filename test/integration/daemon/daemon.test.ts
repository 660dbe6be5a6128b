import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { StatusDoc } from '../../../src/model/index.js';
import { composeDaemon } from '../../../src/cli/commands/daemon.js';
import { silentLogger } from '../../../src/cli/logger.js';
import type { Daemon } from '../../../src/daemon/daemon.js';
import { createHttpServer } from '../../../src/daemon/http.js';
import { resolveDaemonConfig } from '../../../src/daemon/index.js';
import { signBody } from '../../../src/forge/index.js';
import type { MaasEmulator } from '../../../src/lab/maas-emulator/index.js';
import { type GitServer, WorkRepo, createBareRepo, gitCmd, startGitServer } from '../../support/git-server.js';
import { mutations, startFleetEmulator, writeExampleFleet } from './fleet.js';

const SECRET = 'whsec-test-only-7c1d';
let git: GitServer;
let emulator: MaasEmulator;
let hosts: string[];
let work: WorkRepo;
let state: string;
const stops: (() => Promise<void>)[] = [];
/** JSON log lines of the daemons (what an operator's log collector would get). */
const logLines: Record<string, unknown>[] = [];
const captureLogger = () =>
  pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > ms) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

async function makeDaemon(name: string, flags: { pollSeconds: number }): Promise<Daemon> {
  const cfg = resolveDaemonConfig(
    undefined,
    {
      repoUrl: git.url('fleet.git'),
      sites: ['dc1'],
      stateDir: join(state, name),
      pollSeconds: flags.pollSeconds,
      webhookSecretEnv: 'WEBHOOK_SECRET',
      providerPollMs: 20,
      backoffSeconds: 0.05,
      listen: '',
    },
    { baseDir: state },
  );
  const env = { GOUGH_MAAS_API_KEY: emulator.apiKey, WEBHOOK_SECRET: SECRET };
  const d = await composeDaemon(cfg, { stdout: process.stdout, stderr: process.stderr, env, cwd: state }, captureLogger());
  stops.push(() => d.stop(2000));
  return d;
}

function deployedAll(): boolean {
  // Every seeded machine is a dc1 host (hostnames may be FQDNs).
  const ms = emulator.machines();
  return ms.length === hosts.length && ms.every((m) => m.status_name === 'Deployed');
}

beforeAll(async () => {
  git = await startGitServer();
  ({ emulator, hosts } = await startFleetEmulator({ timeFactor: 0.01 }));
  state = mkdtempSync(join(tmpdir(), 'gough-daemon-it-'));
  createBareRepo(git.root, 'fleet.git');
  work = new WorkRepo();
  writeExampleFleet(work.dir, emulator.url);
  work.commit('example fleet');
  await work.push(git.url('fleet.git'));
});

afterAll(async () => {
  for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  await emulator?.close();
  await git?.close();
  work?.rmrf();
  rmSync(state, { recursive: true, force: true });
});

describe('daemon against git http-backend and the MAAS emulator', () => {
  let daemon: Daemon;
  let url: string;

  it('converges the example fleet from a Git remote and the status branch shows every host', async () => {
    daemon = await makeDaemon('main', { pollSeconds: 60 });
    const srv = createHttpServer({ view: daemon, logger: silentLogger() });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    stops.push(() => new Promise((r) => srv.close(() => r())));
    await daemon.start();
    await until(deployedAll, 60_000, 'every dc1 host deployed').catch((e: Error) => {
      const ms = emulator.machines().map((m) => `${m.hostname}:${m.status_name}`);
      const snap = daemon.snapshot();
      throw new Error(`${e.message}; machines ${ms.join(' ')}; plan ${JSON.stringify(snap.plan)}; events ${JSON.stringify(snap.events.slice(0, 8))}`);
    });
    // Dozens of triggers (every finished action asks for a pass): passes never overlapped.
    expect(daemon.maxConcurrentPasses).toBe(1);
    // No host got a second deploy.
    const deploys = mutations(emulator).filter((e) => e.op === 'deploy');
    expect(deploys.length).toBe(hosts.length);
    expect(new Set(deploys.map((e) => e.systemId)).size).toBe(hosts.length);
    // Status: every host Ready on the status branch.
    const bare = join(git.root, 'fleet.git');
    await until(
      () => {
        try {
          return gitCmd(bare, ['show', 'gough/status:status/dc1/summary.md']).includes(`${hosts.length} ready`);
        } catch {
          return false;
        }
      },
      30_000,
      'status summary with every host ready',
    );
    const files = gitCmd(bare, ['ls-tree', '--name-only', 'gough/status', 'status/dc1/']).split('\n');
    expect(files).toEqual([...hosts.map((h) => `status/dc1/${h}.yaml`), 'status/dc1/summary.md'].sort());
    const doc = gitCmd(bare, ['show', `gough/status:status/dc1/${hosts[0]}.yaml`]);
    const parsed = parseYaml(doc) as StatusDoc;
    expect(parsed.observed.lifecycle).toBe('deployed');
    expect(parsed.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(doc).not.toContain(emulator.apiKey.split(':')[2]!);
    // Logs: every line about an action or a host carries the pass that caused it; no secret in any line.
    const actionLines = logLines.filter((l) => l['host'] !== undefined || String(l['msg']).startsWith('Action'));
    expect(actionLines.filter((l) => l['msg'] === 'Action started').length).toBeGreaterThanOrEqual(hosts.length);
    expect(actionLines.filter((l) => typeof l['pass'] !== 'string')).toEqual([]);
    const all = logLines.map((l) => JSON.stringify(l)).join('\n');
    expect(all).not.toContain(emulator.apiKey.split(':')[2]!);
    expect(all).not.toContain(SECRET);
  }, 120_000);

  it('a pushed commit reaches MAAS within 1 s through the webhook', async () => {
    await daemon.settled();
    await daemon.drain();
    const host = 'r1-n01';
    const file = join(work.dir, 'hosts/dc1/k8s-workers-r1.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/power: "on"/, 'power: "off"'));
    const sha = work.commit('power off r1-n01');
    const since = new Date().toISOString();
    await work.push(git.url('fleet.git'));
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: sha }));
    const t0 = performance.now();
    const unsigned = await fetch(`${url}/webhooks/github`, { method: 'POST', headers: { 'x-github-event': 'push' }, body });
    expect(unsigned.status).toBe(401);
    const bad = await fetch(`${url}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': signBody('wrong', body) },
      body,
    });
    expect(bad.status).toBe(401);
    const res = await fetch(`${url}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': signBody(SECRET, body), 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(202);
    const sys = emulator.machines().find((m) => m.hostname === host)!.system_id;
    await until(() => mutations(emulator, since).some((e) => e.systemId === sys), 1000, 'the power-off call at MAAS');
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(1000);
    await until(() => emulator.machines().find((m) => m.hostname === host)?.power_state === 'off', 10_000, 'host off');
  }, 30_000);

  it('a commit that fails validation is not applied and is reported with diagnostics', async () => {
    await daemon.settled();
    await daemon.drain();
    const applied = daemon.snapshot().appliedRevision;
    work.write({
      'hosts/dc1/broken.yaml': 'apiVersion: gough.dev/v1\nkind: Host\nmetadata:\n  name: broken-01\nspec:\n  site: dc1\n  state: deployed\n',
    });
    const file = join(work.dir, 'hosts/dc1/k8s-workers-r1.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/power: "off"/, 'power: "on"'));
    const bad = work.commit('broken host (and r1-n01 back on)');
    const since = new Date().toISOString();
    await work.push(git.url('fleet.git'));
    const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: bad }));
    await fetch(`${url}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': signBody(SECRET, body) },
      body,
    });
    await until(() => daemon.snapshot().invalidRevision?.revision === bad, 5000, 'the invalid revision reported');
    const snap = daemon.snapshot();
    expect(snap.appliedRevision).toBe(applied);
    expect(snap.invalidRevision?.diagnostics.some((d) => d.file === 'hosts/dc1/broken.yaml' && d.severity === 'error')).toBe(true);
    const status = await (await fetch(`${url}/api/v1/status`)).json();
    expect(JSON.stringify(status)).toContain('broken.yaml');
    await daemon.settled();
    await new Promise((r) => setTimeout(r, 300));
    expect(mutations(emulator, since)).toEqual([]);
  }, 30_000);

  it('without a webhook, the poll picks a commit up within the poll interval', async () => {
    await daemon.stop(2000);
    const polled = await makeDaemon('polled', { pollSeconds: 1 });
    await polled.start();
    // The fixed commit: drop the broken host (r1-n01 back on is the change to apply).
    work.remove('hosts/dc1/broken.yaml');
    work.commit('fix');
    await polled.settled();
    const since = new Date().toISOString();
    const t0 = performance.now();
    await work.push(git.url('fleet.git'));
    const sys = emulator.machines().find((m) => m.hostname === 'r1-n01')!.system_id;
    await until(() => mutations(emulator, since).some((e) => e.systemId === sys), 3000, 'the power-on call at MAAS');
    expect(performance.now() - t0).toBeLessThan(1000 + 1000);
  }, 30_000);
});
