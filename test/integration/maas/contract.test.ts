/**
 * Contract tests: the emulator and the client against the recorded MAAS contract (test/fixtures/maas, a copy of
 * shared/contracts/maas): machine objects have the recorded fields and JSON types; every path+op the client
 * sends and the emulator answers exists in MAAS's describe catalogue.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAAS_OPERATIONS, MaasClient, oauthHeader, parseApiKey } from '../../../src/drivers/maas/index.js';
import { EMULATOR_ROUTES, type MaasEmulator, startMaasEmulator } from '../../../src/lab/index.js';

const FIX = new URL('../../fixtures/maas/', import.meta.url);
const load = (f: string) => JSON.parse(readFileSync(new URL(f, FIX), 'utf8')) as Record<string, unknown>;

type Json = Record<string, unknown>;
const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** path → method → ops, from describe-api22.json (paths relative to /MAAS/api/2.0/). */
function catalogue(): Set<string> {
  const d = load('describe-api22.json') as { resources: { auth?: Json | null; anon?: Json | null }[] };
  const out = new Set<string>();
  for (const r of d.resources) {
    for (const h of [r.auth, r.anon]) {
      if (!h) continue;
      const path = String(h['path']).replace('/MAAS/api/2.0/', '');
      for (const a of h['actions'] as { method: string; op: string | null }[]) out.add(`${a.method} ${path} ${a.op ?? ''}`);
    }
  }
  return out;
}

/** The recorded machine objects (those with a numeric status: machines, not controllers). */
function recordedMachines(): Json[] {
  const m = load('examples-machines.json');
  const n = load('examples-nodes.json');
  const out: Json[] = [];
  for (const [k, v] of Object.entries(m)) if (k !== 'machines-placeholder') out.push(v as Json);
  for (const k of ['read-node', 'set-owner-data', 'power-on', 'power-off', 'test']) out.push(n[k] as Json);
  for (const v of n['read-visible-nodes'] as Json[]) out.push(v);
  out.push(load('gomaasclient-machine.json'));
  return out.filter((x) => typeof x['status'] === 'number');
}

/** For each key: the JSON types seen, and whether every recorded object has it. */
function shape(objs: Json[]): { types: Map<string, Set<string>>; always: Set<string> } {
  const types = new Map<string, Set<string>>();
  for (const o of objs) for (const [k, v] of Object.entries(o)) types.set(k, (types.get(k) ?? new Set()).add(jsonType(v)));
  const always = new Set([...types.keys()].filter((k) => objs.every((o) => k in o)));
  return { types, always };
}

/** Fields newer MAAS renders (README: DISPLAYED_MACHINE_FIELDS) that the recorded 2.x examples lack. */
const NEWER_FIELDS: Record<string, string[]> = { error_description: ['string'], workload_annotations: ['object'] };

function checkShape(label: string, obj: Json, recorded: Json[], extra: Record<string, string[]> = {}): string[] {
  const { types, always } = shape(recorded);
  const problems: string[] = [];
  for (const k of always) if (!(k in obj)) problems.push(`${label}: missing "${k}"`);
  for (const [k, v] of Object.entries(obj)) {
    const allowed = types.get(k) ?? (extra[k] ? new Set(extra[k]) : undefined);
    if (!allowed) problems.push(`${label}: field "${k}" is in no recorded example`);
    else if (!allowed.has(jsonType(v))) problems.push(`${label}: "${k}" is ${jsonType(v)}, recorded ${[...allowed].join('|')}`);
  }
  return problems;
}

async function untilStatus(emu: MaasEmulator, hostname: string, status: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (emu.machines().find((m) => m.hostname === hostname)?.status === status) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${hostname} never reached status ${status}`);
}

describe('MAAS contract (emulator + client vs recorded MAAS)', () => {
  let emu: MaasEmulator;
  let client: MaasClient;
  beforeAll(async () => {
    emu = await startMaasEmulator({
      timeFactor: 0.005,
      machines: [
        { hostname: 'c-new', macs: ['52:54:00:aa:00:01'], status: 'new' },
        { hostname: 'c-ready', macs: ['52:54:00:aa:00:02', '52:54:00:aa:00:12'], status: 'ready' },
        { hostname: 'c-deployed', macs: ['52:54:00:aa:00:03'], status: 'deployed', annotations: { gough_spec_hash: 'x' } },
        { hostname: 'c-failed', macs: ['52:54:00:aa:00:04'], status: 'failed_deployment', errorDescription: 'Installation failed' },
        { hostname: 'c-broken', macs: ['52:54:00:aa:00:05'], status: 'broken', powerType: 'manual' },
      ],
    });
    client = new MaasClient({ url: emu.url, apiKey: emu.apiKey });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('every path and op the client uses exists in describe-api22.json', () => {
    const cat = catalogue();
    const missing = Object.entries(MAAS_OPERATIONS)
      .map(([name, o]) => [name, `${o.method} ${o.path} ${'op' in o ? o.op : ''}`] as const)
      .filter(([, key]) => !cat.has(key));
    expect(missing).toEqual([]);
  });

  it('every route the emulator answers exists in describe-api22.json (two documented exceptions)', () => {
    const cat = catalogue();
    // describe/ is the catalogue itself; set_workload_annotations is newer MAAS's name for set_owner_data.
    const exceptions = new Set(['GET describe/ ', 'POST machines/{system_id}/ set_workload_annotations']);
    const missing = EMULATOR_ROUTES.map((r) => `${r.method} ${r.path} ${r.op ?? ''}`).filter((k) => !cat.has(k) && !exceptions.has(k));
    expect(missing).toEqual([]);
  });

  it('every request the client actually sent matches the catalogue', async () => {
    emu.clearLog();
    const [ready] = await client.listMachines({ hostname: 'c-ready' });
    await client.version();
    await client.whoami();
    await client.readMachine(ready!.systemId);
    await client.allocate({ systemId: ready!.systemId });
    await client.setAnnotations(ready!.systemId, { a: 'b' });
    await client.release(ready!.systemId, { erase: true, quickErase: true });
    await client.queryPowerState(ready!.systemId);
    await client.powerOff(ready!.systemId, { stopMode: 'soft' });
    const created = await client.createMachine({ architecture: 'amd64/generic', macAddresses: ['52:54:00:aa:00:99'], hostname: 'c-created', powerType: 'manual' });
    await untilStatus(emu, 'c-created', 4);
    await client.commission(created.systemId);
    const [dep] = await client.listMachines({ hostname: 'c-failed' });
    await client.release(dep!.systemId);
    await untilStatus(emu, 'c-failed', 4);
    // Deploy from Ready allocates first (MAAS since 2017): the answer is a Deploying machine owned by the caller.
    const deploying = await client.deploy(dep!.systemId, { distroSeries: 'jammy', userData: '#cloud-config\n' });
    expect(deploying).toMatchObject({ status: 9, owner: 'admin', distroSeries: 'jammy', osystem: 'ubuntu' });
    await client.powerOn(dep!.systemId).catch(() => undefined);
    await client.queryEvents({ id: [dep!.systemId], after: 0, limit: 3 });
    await client.createTag({ name: 'gough', comment: 'managed' });
    await client.updateTagNodes('gough', { add: [dep!.systemId] });
    await client.tagMachines('gough');
    await client.listTags();
    const cat = catalogue();
    const sent = emu.requestLog().map((e) => {
      const path = e.path
        .replace('/MAAS/api/2.0/', '')
        .replace(/^machines\/[^/]+\/$/, 'machines/{system_id}/')
        .replace(/^tags\/[^/]+\/$/, 'tags/{name}/');
      return `${e.method} ${path} ${e.op ?? ''}`;
    });
    expect(new Set(sent).size).toBeGreaterThanOrEqual(18);
    expect(sent.filter((k) => !cat.has(k))).toEqual([]);
  });

  it('every machine object the emulator returns has the recorded fields and JSON types', async () => {
    const recorded = recordedMachines();
    expect(recorded.length).toBeGreaterThan(20);
    const raw = (await (await fetch(`${emu.url}/../_emulator/machines`.replace('/MAAS/../', '/'))).json()) as Json[];
    const listed = (await client.call('listMachines', {}, {})) as Json[];
    expect(listed).toHaveLength(raw.length);
    const problems: string[] = [];
    for (const m of listed) problems.push(...checkShape(`machine ${m['hostname']}`, m, recorded, NEWER_FIELDS));
    // Nested objects: interfaces, boot disk, zone, pool, domain.
    const ifaces = recorded.flatMap((r) => (r['interface_set'] as Json[]) ?? []);
    const disks = recorded.map((r) => r['boot_disk']).filter((d): d is Json => typeof d === 'object' && d !== null);
    for (const key of ['zone', 'pool', 'domain', 'hardware_info', 'default_gateways']) {
      const rec = recorded.map((r) => r[key]).filter((d): d is Json => typeof d === 'object' && d !== null);
      for (const m of listed) problems.push(...checkShape(`${m['hostname']}.${key}`, m[key] as Json, rec));
    }
    for (const m of listed) {
      for (const i of m['interface_set'] as Json[]) problems.push(...checkShape(`${m['hostname']}.interface`, i, ifaces));
      problems.push(...checkShape(`${m['hostname']}.boot_interface`, m['boot_interface'] as Json, ifaces));
      problems.push(...checkShape(`${m['hostname']}.boot_disk`, m['boot_disk'] as Json, disks));
    }
    // The allocate answer carries constraints_by_type, as recorded.
    const created = await client.createMachine({ architecture: 'amd64/generic', macAddresses: ['52:54:00:aa:00:77'], hostname: 'c-alloc' });
    await untilStatus(emu, 'c-alloc', 4);
    const alloc = (await client.call('allocate', {}, { system_id: created.systemId })) as Json;
    const allocRecorded = load('examples-machines.json')['machines-allocate'] as Json;
    problems.push(...checkShape('allocate', alloc, [...recorded, allocRecorded], NEWER_FIELDS));
    expect(alloc).toMatchObject({ status: 10, status_name: 'Allocated', owner: 'admin', constraints_by_type: {} });
    expect(problems).toEqual([]);
  });

  it('answers errors with MAAS status codes, content types and bodies', async () => {
    const res404 = await fetch(`${emu.url}/api/2.0/machines/nosuch/`, { headers: { authorization: 'x' } });
    expect(res404.status).toBe(401);
    await expect(client.readMachine('nosuch')).rejects.toMatchObject({ code: 'not-found' });
    const r = await client.call('readMachine', { system_id: 'nosuch' }, {}).catch((e: Error) => e.message);
    expect(r).toContain('No Machine matches the given query.');
    const [n] = await client.listMachines({ hostname: 'c-new' });
    await expect(client.powerOn(n!.systemId)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining("Can't start node: it hasn't been allocated.") });
    await expect(client.deploy(n!.systemId)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining("Can't deploy a machine that is in the 'New' state") });
    await expect(client.release(n!.systemId)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining("Machine cannot be released in its current state ('New')."),
    });
    const v = await fetch(`${emu.url}/api/2.0/version/`);
    expect(v.headers.get('content-type')).toContain('application/json');
    expect(Object.keys((await v.json()) as Json).sort()).toEqual(['capabilities', 'subversion', 'version']);
    const auth = () => ({ authorization: oauthHeader(parseApiKey(emu.apiKey)) });
    const unknownOp = await fetch(`${emu.url}/api/2.0/machines/${n!.systemId}/?op=frobnicate`, { method: 'POST', headers: auth() });
    expect([unknownOp.status, await unknownOp.text()]).toEqual([400, 'Unrecognised signature: method=POST op=frobnicate']);
    const missing = await fetch(`${emu.url}/api/2.0/machines/nosuch/`, { headers: auth() });
    expect([missing.status, missing.headers.get('content-type'), await missing.text()]).toEqual([
      404,
      'text/plain; charset=utf-8',
      'No Machine matches the given query.',
    ]);
    const bad = await fetch(`${emu.url}/api/2.0/machines/`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded' }, body: 'hostname=x' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ architecture: ['This field is required.'], mac_addresses: ['This field is required.'] });
  });
});
