/**
 * Typed views of the MAAS API 2.0 JSON Gough reads. Only the fields Gough uses are typed; every other field of
 * MAAS's answers is tolerated and ignored. `parse*` functions check the shape at the edge and throw a
 * `bad-response` GoughError on anything they cannot read.
 */
import { GoughError } from '../../model/index.js';

export type MaasInterface = { id?: number; name?: string; macAddress: string };

export type MaasMachine = {
  systemId: string;
  hostname: string;
  fqdn?: string;
  /** Numeric status code (see status.ts); undefined on objects that are not machines. */
  status: number | undefined;
  statusName?: string;
  statusMessage?: string;
  errorDescription?: string;
  powerState: string;
  powerType?: string;
  architecture?: string;
  osystem?: string;
  distroSeries?: string;
  owner: string | null;
  /** Workload annotations (`workload_annotations`, or the older `owner_data`). */
  annotations: Record<string, string>;
  bootInterface: MaasInterface | null;
  interfaces: MaasInterface[];
  tagNames: string[];
  locked?: boolean;
  /** Names of the machine's zone and resource pool. */
  zone?: string;
  pool?: string;
};

export type MaasEvent = {
  id: number;
  node: string;
  hostname: string;
  level: string;
  created: string;
  type: string;
  description: string;
  username?: string;
};
export type MaasEventsPage = { count: number; events: MaasEvent[]; nextUri: string | null; prevUri: string | null };
export type MaasVersion = { version: string; subversion: string; capabilities: string[] };
export type MaasUser = { username: string; email?: string; isSuperuser: boolean };
export type MaasTag = { name: string; definition: string; comment: string; kernelOpts: string | null };

type Json = Record<string, unknown>;

function bad(what: string, detail: string): GoughError {
  return new GoughError('bad-response', `Cannot read MAAS ${what}: ${detail}`, { retry: { kind: 'backoff' } });
}

function obj(x: unknown, what: string): Json {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw bad(what, 'not a JSON object');
  return x as Json;
}

function str(o: Json, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw bad(what, `field "${key}" is not a string`);
  return v;
}

function optStr(o: Json, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

function parseInterface(x: unknown, what: string): MaasInterface | null {
  if (x === null || x === undefined) return null;
  const o = obj(x, what);
  const mac = o['mac_address'];
  if (typeof mac !== 'string') return null;
  const out: MaasInterface = { macAddress: mac.toLowerCase() };
  if (typeof o['id'] === 'number') out.id = o['id'];
  if (typeof o['name'] === 'string') out.name = o['name'];
  return out;
}

function stringRecord(x: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return out;
  for (const [k, v] of Object.entries(x)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** Reads one machine (or node) object of `GET machines/`, `GET machines/{id}/` or an op's answer. */
export function parseMachine(x: unknown): MaasMachine {
  const o = obj(x, 'machine');
  const systemId = str(o, 'system_id', 'machine');
  const what = `machine "${systemId}"`;
  const hostname = str(o, 'hostname', what);
  const status = o['status'];
  if (status !== undefined && typeof status !== 'number') throw bad(what, 'field "status" is not a number');
  const ifaces = o['interface_set'];
  if (ifaces !== undefined && !Array.isArray(ifaces)) throw bad(what, 'field "interface_set" is not an array');
  const interfaces: MaasInterface[] = [];
  for (const i of ifaces ?? []) {
    const p = parseInterface(i, what);
    if (p) interfaces.push(p);
  }
  const owner = o['owner'];
  const m: MaasMachine = {
    systemId,
    hostname,
    status,
    powerState: optStr(o, 'power_state') ?? 'unknown',
    owner: typeof owner === 'string' && owner !== '' ? owner : null,
    annotations: { ...stringRecord(o['owner_data']), ...stringRecord(o['workload_annotations']) },
    bootInterface: parseInterface(o['boot_interface'], what),
    interfaces,
    tagNames: Array.isArray(o['tag_names']) ? o['tag_names'].filter((t): t is string => typeof t === 'string') : [],
  };
  const opt: [keyof MaasMachine, string][] = [
    ['fqdn', 'fqdn'],
    ['statusName', 'status_name'],
    ['statusMessage', 'status_message'],
    ['errorDescription', 'error_description'],
    ['powerType', 'power_type'],
    ['architecture', 'architecture'],
    ['osystem', 'osystem'],
    ['distroSeries', 'distro_series'],
  ];
  for (const [k, json] of opt) {
    const v = optStr(o, json);
    if (v !== undefined) (m as Record<string, unknown>)[k] = v;
  }
  if (typeof o['locked'] === 'boolean') m.locked = o['locked'];
  for (const k of ['zone', 'pool'] as const) {
    const v = o[k];
    if (typeof v === 'object' && v !== null && typeof (v as Json)['name'] === 'string') m[k] = (v as Json)['name'] as string;
  }
  return m;
}

export function parseMachines(x: unknown): MaasMachine[] {
  if (!Array.isArray(x)) throw bad('machine list', 'not a JSON array');
  return x.map(parseMachine);
}

export function parseEventsPage(x: unknown): MaasEventsPage {
  const o = obj(x, 'events');
  const events = o['events'];
  if (!Array.isArray(events)) throw bad('events', 'field "events" is not an array');
  return {
    count: typeof o['count'] === 'number' ? o['count'] : events.length,
    events: events.map((e) => {
      const v = obj(e, 'event');
      if (typeof v['id'] !== 'number') throw bad('event', 'field "id" is not a number');
      const ev: MaasEvent = {
        id: v['id'],
        node: optStr(v, 'node') ?? '',
        hostname: optStr(v, 'hostname') ?? '',
        level: optStr(v, 'level') ?? 'INFO',
        created: optStr(v, 'created') ?? '',
        type: optStr(v, 'type') ?? '',
        description: optStr(v, 'description') ?? '',
      };
      const u = optStr(v, 'username');
      if (u !== undefined) ev.username = u;
      return ev;
    }),
    nextUri: optStr(o, 'next_uri') ?? null,
    prevUri: optStr(o, 'prev_uri') ?? null,
  };
}

export function parseVersion(x: unknown): MaasVersion {
  const o = obj(x, 'version');
  return {
    version: str(o, 'version', 'version'),
    subversion: optStr(o, 'subversion') ?? '',
    capabilities: Array.isArray(o['capabilities']) ? o['capabilities'].filter((c): c is string => typeof c === 'string') : [],
  };
}

export function parseUser(x: unknown): MaasUser {
  const o = obj(x, 'user');
  const u: MaasUser = { username: str(o, 'username', 'user'), isSuperuser: o['is_superuser'] === true };
  const email = optStr(o, 'email');
  if (email !== undefined) u.email = email;
  return u;
}

export function parseTag(x: unknown): MaasTag {
  const o = obj(x, 'tag');
  const k = o['kernel_opts'];
  return {
    name: str(o, 'name', 'tag'),
    definition: optStr(o, 'definition') ?? '',
    comment: optStr(o, 'comment') ?? '',
    kernelOpts: typeof k === 'string' ? k : null,
  };
}
