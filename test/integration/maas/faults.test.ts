/** Behaviour under MAAS faults and at scale, client + provisioner against the emulator over real HTTP. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaasClient, MaasProvisioner, oauthHeader, parseApiKey } from '../../../src/drivers/maas/index.js';
import { type MaasEmulator, seedMachinesFromHosts, startMaasEmulator } from '../../../src/lab/index.js';
import { type Action, type ActionKind, GoughError } from '../../../src/model/index.js';
import { desired, host, site } from './helpers.js';

const USER_KEY = 'userConsumer000000:userToken000000000:userSecret0000000000000000000000';
const action = (h: string, kind: ActionKind): Action => ({ id: `${h}-${kind}`, host: h, site: 'dc1', kind, reason: 'test', disruptive: false });

async function rejection(p: Promise<unknown>): Promise<GoughError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GoughError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('MAAS faults, retries and auth (emulator over HTTP)', () => {
  let emu: MaasEmulator;
  const hosts = Array.from({ length: 8 }, (_, i) => host(`node-${i}`, 100 + i));
  const s = () => site(emu.url);
  let logLines = '';
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _enc, cb) {
        logLines += String(chunk);
        cb();
      },
    }),
  );
  const mk = (opts: { apiKey?: string } = {}) => {
    const client = new MaasClient({ url: emu.url, apiKey: opts.apiKey ?? emu.apiKey, logger });
    return { client, p: new MaasProvisioner({ client, site: s(), pollIntervalMs: 15, logger }) };
  };
  beforeAll(async () => {
    emu = await startMaasEmulator({
      timeFactor: 0.005,
      machines: seedMachinesFromHosts(hosts, { initial: 'ready' }),
      extraApiKeys: [{ apiKey: USER_KEY, admin: false }],
    });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('honours Retry-After on 409 and on 503, then succeeds', async () => {
    const { p } = mk();
    const d = desired(hosts[0]!, s());
    emu.setFaults({ ops: { deploy: { count: 1, status: 409, retryAfter: 1 }, set_owner_data: { count: 1, status: 503, retryAfter: 1 } } });
    emu.clearLog();
    const out = await p.perform(action('node-0', 'deploy'), d);
    expect(out.observed?.lifecycle).toBe('deployed');
    for (const op of ['deploy', 'set_owner_data']) {
      const calls = emu.requestLog().filter((e) => e.op === op);
      expect(calls.map((c) => c.status).slice(0, 2)).toEqual([op === 'deploy' ? 409 : 503, 200]);
      const gap = Date.parse(calls[1]!.at) - Date.parse(calls[0]!.at);
      expect(gap).toBeGreaterThanOrEqual(990);
    }
    emu.setFaults({});
  });

  it('gives up after 4 retries with a busy error that says when to retry', async () => {
    const { client } = mk();
    const [m] = await client.listMachines({ hostname: 'node-1' });
    emu.setFaults({ ops: { power_off: { count: 10, status: 503, retryAfter: 0 } } });
    emu.clearLog();
    const e = await rejection(client.powerOff(m!.systemId));
    expect(e.code).toBe('busy');
    expect(e.retry).toEqual({ kind: 'after', ms: 0 });
    expect(emu.requestLog().filter((x) => x.op === 'power_off')).toHaveLength(5);
    emu.setFaults({});
  });

  it('does not retry a 409 without Retry-After: conflict with MAAS\'s message', async () => {
    const { p } = mk();
    const d = desired(hosts[2]!, s());
    emu.setFaults({ ops: { deploy: { count: 1, status: 409, retryAfter: null, body: 'Node is locked by another operation' } } });
    emu.clearLog();
    const e = await rejection(p.perform(action('node-2', 'deploy'), d));
    expect(e.code).toBe('conflict');
    expect(e.retry).toEqual({ kind: 'never' });
    expect(e.message).toContain('Node is locked by another operation');
    expect(emu.requestLog().filter((x) => x.op === 'deploy')).toHaveLength(1);
    emu.setFaults({});
  });

  it('surfaces MAAS\'s error_description when a deployment fails', async () => {
    const { p } = mk();
    const d = desired(hosts[3]!, s());
    emu.setFaults({ failDeploy: ['node-3'], deployErrorDescription: 'curtin: failed to partition /dev/sda' });
    const e = await rejection(p.perform(action('node-3', 'deploy'), d));
    expect(e.code).toBe('provider-error');
    expect(e.message).toContain('curtin: failed to partition /dev/sda');
    const [o] = await p.observe([d]);
    expect(o).toMatchObject({ lifecycle: 'failed', power: 'off', provider: { status: 'Failed deployment' } });
    expect(o?.errors).toContain('curtin: failed to partition /dev/sda');
    emu.setFaults({});
  });

  it('a stuck deployment times out to Failed deployment (MAAS node timeout)', async () => {
    const { p } = mk();
    const d = desired(hosts[4]!, s());
    emu.setFaults({ stuckDeploy: ['node-4'], nodeTimeoutMs: 400 });
    const e = await rejection(p.perform(action('node-4', 'deploy'), d));
    expect(e.code).toBe('provider-error');
    expect(e.message).toContain("Node operation 'Deploying' timed out after 30 minutes.");
    emu.setFaults({});
  });

  it('a deployment that outlives the deadline is verify-failed (retry with backoff)', async () => {
    const { p } = mk();
    const d = desired(hosts[5]!, s());
    emu.setFaults({ stuckDeploy: ['node-5'] });
    const e = await rejection(p.perform(action('node-5', 'deploy'), d, { deadlineMs: 300 }));
    expect(e.code).toBe('verify-failed');
    expect(e.retry).toEqual({ kind: 'backoff' });
    expect(e.message).toMatch(/^Host "node-5" did not reach Deployed before the deadline: it is "Deploying"/);
    emu.setFaults({});
  });

  it('never sends power_on to a running machine, nor to one whose power state is error', async () => {
    const { p } = mk();
    const d0 = desired(hosts[0]!, s());
    emu.clearLog();
    expect((await p.perform(action('node-0', 'power-on'), d0)).message).toBe('already on');
    emu.setFaults({ powerStateError: ['node-0'] });
    const [o] = await p.observe([d0]);
    expect(o?.power).toBe('error');
    const e = await rejection(p.perform(action('node-0', 'power-on'), d0));
    expect(e.message).toContain('MAAS reports power state "error"');
    expect(emu.requestLog().filter((x) => x.op === 'power_on')).toEqual([]);
    expect(emu.machines().find((m) => m.hostname === 'node-0')?._emulator.powerCycles).toBe(0);
    emu.setFaults({});
    await p.perform(action('node-0', 'power-off'), d0);
    await p.perform(action('node-0', 'power-on'), d0);
    expect(emu.requestLog().filter((x) => x.op === 'power_on' || x.op === 'power_off').map((x) => x.op)).toEqual(['power_off', 'power_on']);
  });

  it('a bad API key is one clear auth-failed error, never retried, key never shown', async () => {
    const [ck, tk] = emu.apiKey.split(':');
    const wrong = `${ck}:${tk}:WrongSecretWrongSecretWrong12345`;
    const { client, p } = mk({ apiKey: wrong });
    emu.clearLog();
    const e = await rejection(p.observe([desired(hosts[0]!, s())]));
    expect(e.code).toBe('auth-failed');
    expect(e.retry).toEqual({ kind: 'never' });
    expect(e.message).toMatch(/^MAAS GET machines\/ rejected the API key: Authorization Error: Invalid signature$/);
    expect(emu.requestLog()).toHaveLength(1);
    expect(emu.requestLog()[0]?.status).toBe(401);
    const e2 = await rejection(client.whoami());
    for (const text of [e.message, e2.message, inspect(e, { depth: 5 }), JSON.stringify(e), logLines]) {
      for (const part of [...emu.apiKey.split(':'), 'WrongSecretWrongSecretWrong12345']) expect(text).not.toContain(part);
    }
  });

  it('a key without admin rights gets one permission-denied error for admin operations', async () => {
    const e = await rejection(
      new MaasProvisioner({ client: new MaasClient({ url: emu.url, apiKey: USER_KEY }), site: s(), pollIntervalMs: 15 }).perform(
        action('node-9', 'register'),
        desired(host('node-9', 109), s()),
      ),
    );
    expect([e.code, e.retry]).toEqual(['permission-denied', { kind: 'never' }]);
    expect(e.message).toBe(
      'Cannot register host "node-9": MAAS POST machines/ was refused: the API key lacks permission: You do not have permission to perform this action.',
    );
    expect(emu.machines().some((m) => m.hostname === 'node-9')).toBe(false);
  });

  it('validates OAuth: replayed nonce and bad signature are 401, a non-integer timestamp is 400', async () => {
    const creds = parseApiKey(emu.apiKey);
    const url = `${emu.url}/api/2.0/users/?op=whoami`;
    const h = oauthHeader(creds, { nonce: 'fixed-nonce-1' });
    expect((await fetch(url, { headers: { authorization: h } })).status).toBe(200);
    const replay = await fetch(url, { headers: { authorization: h } });
    expect([replay.status, await replay.text()]).toEqual([401, 'Authorization Error: Nonce already used']);
    const badTs = oauthHeader(creds).replace(/oauth_timestamp="\d+"/, 'oauth_timestamp="soon"');
    expect((await fetch(url, { headers: { authorization: badTs } })).status).toBe(400);
    const old = oauthHeader(creds, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await fetch(url, { headers: { authorization: old } })).status).toBe(401);
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${emu.url}/api/2.0/version/`)).status).toBe(200);
  });

  it('follows next_uri through the events of a machine', async () => {
    const { client } = mk();
    const [m] = await client.listMachines({ hostname: 'node-3' });
    const all = await client.queryEvents({ id: [m!.systemId], level: 'DEBUG', limit: 1000 });
    const paged = await client.queryEvents({ id: [m!.systemId], level: 'DEBUG', limit: 2, after: 0 });
    expect(all.length).toBeGreaterThan(4);
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(emu.requestLog().filter((x) => x.path.endsWith('/events/')).length).toBeGreaterThan(2);
  });
});

describe('MAAS at scale (emulator over HTTP)', () => {
  let emu: MaasEmulator;
  const hosts = Array.from({ length: 1000 }, (_, i) => host(`h${String(i).padStart(4, '0')}`, i + 1));
  beforeAll(async () => {
    const seeds = seedMachinesFromHosts(hosts, { initial: (h) => (h.metadata.name.endsWith('7') ? 'deployed' : 'ready') });
    emu = await startMaasEmulator({ timeFactor: 0.01, machines: seeds, faults: { listLatencyPerMachineMs: 0.1 } });
    emu.addMachine({ hostname: 'stray-01', macs: ['02:00:00:00:99:01'], status: 'deployed' });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('lists 1,000 machines in one GET machines/ and maps each to its host by MAC', async () => {
    const s = site(emu.url);
    const p = new MaasProvisioner({ client: new MaasClient({ url: emu.url, apiKey: emu.apiKey }), site: s });
    emu.clearLog();
    const observed = await p.observe(hosts.map((h) => desired(h, s)));
    expect(emu.requestLog().map((e) => `${e.method} ${e.path}`)).toEqual(['GET /MAAS/api/2.0/machines/']);
    // List latency grows with the machine count (0.1 ms per machine).
    expect(emu.requestLog()[0]!.ms).toBeGreaterThanOrEqual(100);
    expect(observed).toHaveLength(1001);
    const byName = new Map(observed.map((o) => [o.name, o]));
    for (const h of hosts) {
      const o = byName.get(h.metadata.name);
      expect(o?.lifecycle).toBe(h.metadata.name.endsWith('7') ? 'deployed' : 'ready');
      expect(o?.macs?.[0]).toBe(h.spec.hardware.bootMac);
    }
    expect(byName.get('stray-01')).toMatchObject({ lifecycle: 'deployed', site: 'dc1' });
  });

  it('observing only a few hosts (a focused pass) asks MAAS for their machines by MAC, and finds the same', async () => {
    const s = site(emu.url);
    const p = new MaasProvisioner({ client: new MaasClient({ url: emu.url, apiKey: emu.apiKey }), site: s });
    const few = [hosts[3]!, hosts[7]!, hosts[500]!].map((h) => desired(h, s));
    const full = await p.observe(hosts.map((h) => desired(h, s)));
    emu.clearLog();
    const focused = await p.observe(few, { only: true });
    const [req] = emu.requestLog();
    expect(emu.requestLog()).toHaveLength(1);
    expect(`${req!.method} ${req!.path}`).toBe('GET /MAAS/api/2.0/machines/');
    // Filtered at MAAS: 3 machines listed, not 1,001 (the emulator's list latency is 0.1 ms per machine listed).
    expect(req!.ms).toBeLessThan(50);
    const want = new Set(few.map((d) => d.host.metadata.name));
    expect(focused).toEqual(full.filter((o) => want.has(o.name)));
    // Without `only` the same hosts come with every other machine, as orphans.
    expect((await p.observe(few)).length).toBe(1001);
  });
});

describe('the request log, read from outside the emulator', () => {
  it('is served at /_emulator/log and appended to the log file as JSON lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gough-maas-log-'));
    const logFile = join(dir, 'requests.jsonl');
    const emu = await startMaasEmulator({ timeFactor: 0.01, logFile, machines: [{ hostname: 'solo', macs: ['02:00:00:00:77:01'], status: 'deployed' }] });
    try {
      const client = new MaasClient({ url: emu.url, apiKey: emu.apiKey });
      const [m] = await client.listMachines();
      await client.powerOff(m!.systemId, { stopMode: 'soft' });
      const served = (await (await fetch(emu.url.replace(/\/MAAS$/, '/_emulator/log'))).json()) as unknown[];
      const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
      expect(lines).toEqual(served);
      // Faults can be set from outside too.
      const set = await fetch(emu.url.replace(/\/MAAS$/, '/_emulator/faults'), { method: 'POST', body: JSON.stringify({ ops: { list: { count: 1, status: 503, retryAfter: 0 } } }) });
      expect(set.status).toBe(200);
      await client.listMachines();
      const after = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: number; fault?: boolean });
      expect(after.slice(2).map((e) => [e.status, e.fault ?? false])).toEqual([
        [503, true],
        [200, false],
      ]);
      expect(lines).toEqual([
        expect.objectContaining({ method: 'GET', path: '/MAAS/api/2.0/machines/', status: 200 }),
        expect.objectContaining({ method: 'POST', path: `/MAAS/api/2.0/machines/${m!.systemId}/`, op: 'power_off', systemId: m!.systemId, host: 'solo', status: 200 }),
      ]);
    } finally {
      await emu.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
