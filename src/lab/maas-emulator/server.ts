/**
 * The MAAS emulator's HTTP face: MAAS API 2.0 paths and ops under `/MAAS/api/2.0/`, OAuth 1.0 PLAINTEXT
 * validation, fault injection, latency, and the request log. Emulator-only endpoints live under `/_emulator/`
 * (no auth): `GET log`, `GET machines`, `GET events`, `POST faults`, `POST machines` (add seeds).
 */
import { appendFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { EmuMachine } from './machine.js';
import { type FaultConfig, MaasReply, type MaasWorld, type OpFault, type SeedMachine } from './world.js';

export type RequestLogEntry = {
  /** ISO 8601 time the request arrived. */
  at: string;
  method: string;
  /** URL path without the query, e.g. `/MAAS/api/2.0/machines/abc123/`. */
  path: string;
  op?: string;
  systemId?: string;
  /** Hostname of the machine the request addressed (the repo Host it maps to). */
  host?: string;
  status: number;
  /** Time to answer, ms. */
  ms: number;
  /** True when the answer was an injected fault. */
  fault?: boolean;
};

export type Credential = { consumerKey: string; tokenKey: string; tokenSecret: string; admin?: boolean };

/** Operations MAAS reserves for administrators (a non-admin key gets 403). */
const ADMIN_OPS = new Set(['create', 'update', 'delete', 'commission', 'power_parameters', 'mark_broken', 'mark_fixed', 'abort']);

type Route = { method: string; path: string; op: string | null; handler: string; anon?: boolean };

/**
 * Every path/method/op the emulator answers, as MAAS 2.2's describe catalogue names them
 * (`set_workload_annotations` is the newer alias of `set_owner_data`).
 */
export const EMULATOR_ROUTES: readonly Route[] = [
  { method: 'GET', path: 'version/', op: null, handler: 'VersionHandler', anon: true },
  { method: 'GET', path: 'describe/', op: null, handler: 'DescribeHandler', anon: true },
  { method: 'GET', path: 'users/', op: 'whoami', handler: 'UsersHandler' },
  { method: 'GET', path: 'machines/', op: null, handler: 'MachinesHandler' },
  { method: 'POST', path: 'machines/', op: null, handler: 'MachinesHandler' },
  { method: 'POST', path: 'machines/', op: 'allocate', handler: 'MachinesHandler' },
  { method: 'GET', path: 'machines/', op: 'power_parameters', handler: 'MachinesHandler' },
  { method: 'GET', path: 'nodes/', op: null, handler: 'NodesHandler' },
  { method: 'GET', path: 'machines/{system_id}/', op: null, handler: 'MachineHandler' },
  { method: 'PUT', path: 'machines/{system_id}/', op: null, handler: 'MachineHandler' },
  { method: 'DELETE', path: 'machines/{system_id}/', op: null, handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'commission', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'deploy', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'release', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'abort', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'mark_broken', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'mark_fixed', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'power_on', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'power_off', handler: 'MachineHandler' },
  { method: 'GET', path: 'machines/{system_id}/', op: 'query_power_state', handler: 'MachineHandler' },
  { method: 'GET', path: 'machines/{system_id}/', op: 'power_parameters', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'set_owner_data', handler: 'MachineHandler' },
  { method: 'POST', path: 'machines/{system_id}/', op: 'set_workload_annotations', handler: 'MachineHandler' },
  { method: 'GET', path: 'events/', op: 'query', handler: 'EventsHandler' },
  { method: 'GET', path: 'tags/', op: null, handler: 'TagsHandler' },
  { method: 'POST', path: 'tags/', op: null, handler: 'TagsHandler' },
  { method: 'GET', path: 'tags/{name}/', op: null, handler: 'TagHandler' },
  { method: 'DELETE', path: 'tags/{name}/', op: null, handler: 'TagHandler' },
  { method: 'POST', path: 'tags/{name}/', op: 'update_nodes', handler: 'TagHandler' },
  { method: 'GET', path: 'tags/{name}/', op: 'machines', handler: 'TagHandler' },
];

const API = '/MAAS/api/2.0/';
const VERSION = {
  capabilities: [
    'networks-management',
    'static-ipaddresses',
    'ipv6-deployment-ubuntu',
    'devices-management',
    'storage-deployment-ubuntu',
    'network-deployment-ubuntu',
    'bridging-interface-ubuntu',
    'bridging-automatic-ubuntu',
    'authenticate-api',
  ],
  version: '2.5.0 (gough emulator)',
  subversion: 'gough-maas-emulator',
};
const NOT_FOUND = 'No Machine matches the given query.';
const MUTATING = new Set(['POST', 'PUT', 'DELETE']);

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** Parses an `Authorization: OAuth ...` header into decoded parameters, as MAAS reads it. */
export function parseOauthHeader(header: string): Record<string, string> | undefined {
  const m = /^OAuth\s+(.*)$/is.exec(header.trim());
  if (!m) return undefined;
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_]+)\s*=\s*"([^"]*)"/g;
  for (let p = re.exec(m[1] ?? ''); p !== null; p = re.exec(m[1] ?? '')) {
    try {
      out[p[1] as string] = decodeURIComponent(p[2] as string);
    } catch {
      out[p[1] as string] = p[2] as string;
    }
  }
  return out;
}

/** Reads `multipart/form-data` text fields (what gomaasapi sends for some POSTs). */
function parseMultipart(body: Buffer, contentType: string): URLSearchParams {
  const out = new URLSearchParams();
  const b = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = b?.[1] ?? b?.[2];
  if (!boundary) return out;
  for (const part of body.toString('utf8').split(`--${boundary}`)) {
    const idx = part.indexOf('\r\n\r\n');
    if (idx < 0) continue;
    const name = /name="([^"]*)"/i.exec(part.slice(0, idx))?.[1];
    if (name === undefined) continue;
    out.append(name, part.slice(idx + 4).replace(/\r\n$/, ''));
  }
  return out;
}

export type ServerOptions = {
  world: MaasWorld;
  credentials: Credential[];
  logFile?: string;
  /** Accepted clock skew for `oauth_timestamp`, seconds (default 300). */
  timestampWindowS?: number;
};

export class EmulatorServer {
  readonly server: Server;
  #world: MaasWorld;
  #creds: Credential[];
  #log: RequestLogEntry[] = [];
  #logFile: string | undefined;
  #nonces = new Map<string, number>();
  #window: number;

  constructor(opts: ServerOptions) {
    this.#world = opts.world;
    this.#creds = opts.credentials;
    this.#logFile = opts.logFile;
    this.#window = opts.timestampWindowS ?? 300;
    this.server = createServer((req, res) => {
      this.#handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`Emulator error: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  get log(): readonly RequestLogEntry[] {
    return this.#log;
  }

  #record(e: RequestLogEntry): void {
    this.#log.push(e);
    if (this.#logFile) appendFileSync(this.#logFile, `${JSON.stringify(e)}\n`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    if (url.pathname.startsWith('/_emulator/')) {
      this.#send(res, this.#control(url, method, raw));
      return;
    }

    const op = url.searchParams.get('op') ?? undefined;
    const entry: RequestLogEntry = { at: new Date(started).toISOString(), method, path: url.pathname, status: 0, ms: 0 };
    if (op) entry.op = op;
    let reply: MaasReply;
    try {
      reply = await this.#api(url, method, raw, req, entry);
    } catch (e) {
      if (e instanceof MaasReply) reply = e;
      else reply = MaasReply.text(500, `Internal server error: ${e instanceof Error ? e.message : String(e)}`);
    }
    entry.status = reply.status;
    entry.ms = Date.now() - started;
    this.#record(entry);
    this.#send(res, reply);
  }

  #send(res: ServerResponse, reply: MaasReply): void {
    const headers: Record<string, string> = { ...reply.headers };
    let text: string;
    if (reply.status === 204) text = '';
    else if (typeof reply.body === 'string' && headers['content-type']) text = reply.body;
    else if (reply.body instanceof RawJson) text = reply.body.text;
    else text = JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(reply.status, headers);
    res.end(text);
  }

  #authenticate(req: IncomingMessage): MaasReply | Credential {
    const header = req.headers.authorization;
    const challenge = { 'www-authenticate': 'OAuth realm="OAuth"' };
    if (!header) return MaasReply.text(401, 'Authorization Error: Authentication credentials were not provided', challenge);
    const p = parseOauthHeader(header);
    if (!p) return MaasReply.text(401, 'Authorization Error: Unsupported authorization scheme', challenge);
    const required = ['oauth_consumer_key', 'oauth_token', 'oauth_signature', 'oauth_signature_method', 'oauth_timestamp', 'oauth_nonce'];
    const missing = required.filter((k) => p[k] === undefined || p[k] === '');
    if (missing.length > 0) return MaasReply.text(401, `Authorization Error: Missing OAuth parameters: ${missing.join(', ')}`, challenge);
    if (!/^\d+$/.test(p['oauth_timestamp'] ?? '')) return MaasReply.text(400, 'Invalid timestamp: not an integer');
    if (p['oauth_signature_method'] !== 'PLAINTEXT') return MaasReply.text(401, 'Authorization Error: Invalid signature method', challenge);
    const cred = this.#creds.find((c) => c.consumerKey === p['oauth_consumer_key'] && c.tokenKey === p['oauth_token']);
    if (!cred) return MaasReply.text(401, 'Authorization Error: Invalid access token', challenge);
    let sig = p['oauth_signature'] ?? '';
    try {
      sig = decodeURIComponent(sig);
    } catch {
      // compared as is
    }
    const [cs, ts] = sig.split('&');
    let tokenSecret = ts ?? '';
    try {
      tokenSecret = decodeURIComponent(tokenSecret);
    } catch {
      // compared as is
    }
    if (cs !== '' || tokenSecret !== cred.tokenSecret) return MaasReply.text(401, 'Authorization Error: Invalid signature', challenge);
    const now = Math.floor(Date.now() / 1000);
    const t = Number(p['oauth_timestamp']);
    if (Math.abs(now - t) > this.#window) return MaasReply.text(401, 'Authorization Error: Expired timestamp', challenge);
    const key = `${cred.consumerKey}:${cred.tokenKey}:${p['oauth_nonce']}`;
    if (this.#nonces.has(key)) return MaasReply.text(401, 'Authorization Error: Nonce already used', challenge);
    this.#nonces.set(key, t);
    if (this.#nonces.size > 100_000) {
      for (const [k, v] of this.#nonces) if (now - v > this.#window) this.#nonces.delete(k);
    }
    return cred;
  }

  #injected(method: string, opKey: string): MaasReply | undefined {
    const f: FaultConfig = this.#world.faults;
    const pick = (o: OpFault | undefined): MaasReply | undefined => {
      if (!o) return undefined;
      let hit = false;
      if (o.count !== undefined && o.count > 0) {
        o.count--;
        hit = true;
      } else if (o.rate !== undefined && this.#world.roll() < o.rate) hit = true;
      if (!hit) return undefined;
      const status = o.status ?? 409;
      const ra = o.retryAfter === undefined ? (status === 409 ? 5 : status === 503 ? 10 : null) : o.retryAfter;
      const headers: Record<string, string> = ra === null ? {} : { 'retry-after': String(ra) };
      const body =
        o.body ??
        (status === 503
          ? 'Unable to complete the request: the cluster is unavailable. Try again later.'
          : status === 409
            ? ra === null
              ? 'The machine is locked by another operation.'
              : 'Conflict: the request could not be serialized; retry it'
            : `Injected fault ${status}`);
      return MaasReply.text(status, body, headers);
    };
    const ops = f.ops ?? {};
    const r = pick(ops[opKey]) ?? pick(ops['*']);
    if (r) return r;
    if (MUTATING.has(method) && f.failRate !== undefined && this.#world.roll() < f.failRate) {
      return MaasReply.text(409, 'Conflict: the request could not be serialized; retry it', {
        'retry-after': String(f.retryAfterSeconds ?? 5),
      });
    }
    return undefined;
  }

  async #api(url: URL, method: string, raw: Buffer, req: IncomingMessage, entry: RequestLogEntry): Promise<MaasReply> {
    if (!url.pathname.startsWith(API)) return MaasReply.text(404, `Unknown path: ${url.pathname}`);
    const rest = url.pathname.slice(API.length);
    const segs = rest.split('/').filter((s) => s !== '');
    const op = url.searchParams.get('op');
    const params = new URLSearchParams(url.searchParams);
    params.delete('op');
    if (MUTATING.has(method) && raw.length > 0) {
      const ct = req.headers['content-type'] ?? '';
      const body = ct.includes('multipart/form-data') ? parseMultipart(raw, ct) : new URLSearchParams(raw.toString('utf8'));
      for (const [k, v] of body) if (k !== 'op') params.append(k, v);
    }
    const collection = segs[0] ?? '';
    const itemPath = segs.length >= 2 ? `${collection}/{${collection === 'tags' ? 'name' : 'system_id'}}/` : `${collection}/`;
    const route = EMULATOR_ROUTES.find((r) => r.method === method && r.path === itemPath && r.op === op);
    if (!route) {
      if (EMULATOR_ROUTES.some((r) => r.path === itemPath)) return MaasReply.text(400, `Unrecognised signature: method=${method} op=${op ?? ''}`);
      return MaasReply.text(404, `Unknown API endpoint: ${url.pathname}`);
    }
    let caller: Credential | undefined;
    if (!route.anon) {
      const auth = this.#authenticate(req);
      if (auth instanceof MaasReply) return auth;
      caller = auth;
    }
    const world = this.#world;
    let machine: EmuMachine | undefined;
    if (collection === 'machines' && segs[1]) {
      machine = world.get(segs[1]);
      entry.systemId = segs[1];
      if (machine) entry.host = machine.hostname;
    }
    const opKey = op ?? (segs.length >= 2 ? ({ GET: 'read', PUT: 'update', DELETE: 'delete' }[method] ?? 'read') : method === 'POST' ? 'create' : 'list');
    const f = world.faults;
    let latency = (f.latencyMs ?? 0) + (f.ops?.[opKey]?.latencyMs ?? 0);
    // Per machine in the answer: a list filtered by hostname or MAC is quick, as at MAAS.
    if (opKey === 'list' && collection === 'machines' && f.listLatencyPerMachineMs) latency += f.listLatencyPerMachineMs * world.list(params).length;
    if (op === 'query_power_state') latency += f.queryPowerLatencyMs ?? 0;
    await sleep(latency);
    if (caller && caller.admin === false && (ADMIN_OPS.has(opKey) || (collection === 'tags' && method !== 'GET'))) {
      return MaasReply.text(403, 'You do not have permission to perform this action.');
    }
    const fault = this.#injected(method, opKey);
    if (fault) {
      entry.fault = true;
      return fault;
    }
    if (collection === 'machines' && segs[1] && !machine) return MaasReply.text(404, NOT_FOUND);
    return this.#dispatch(route, method, op, segs, params, machine, entry);
  }

  #machineReply(m: EmuMachine, extra?: Record<string, unknown>): MaasReply {
    return new MaasReply(200, extra ? this.#world.render(m, extra) : new RawJson(this.#world.json(m)));
  }

  #dispatch(
    route: Route,
    method: string,
    op: string | null,
    segs: string[],
    params: URLSearchParams,
    machine: EmuMachine | undefined,
    entry: RequestLogEntry,
  ): MaasReply {
    const world = this.#world;
    switch (route.handler) {
      case 'VersionHandler':
        return new MaasReply(200, VERSION);
      case 'DescribeHandler':
        return new MaasReply(200, describe());
      case 'UsersHandler':
        return new MaasReply(200, { is_superuser: true, username: world.user, email: 'admin@example.com', is_local: true, resource_uri: `/MAAS/api/2.0/users/${world.user}/` });
      case 'NodesHandler':
      case 'MachinesHandler': {
        if (method === 'GET' && op === null) return new MaasReply(200, new RawJson(`[${world.list(params).map((m) => world.json(m)).join(',')}]`));
        if (method === 'GET' && op === 'power_parameters') {
          const ids = params.getAll('id');
          const out: Record<string, Record<string, string>> = {};
          for (const m of world.all()) if (ids.length === 0 || ids.includes(m.systemId)) out[m.systemId] = { ...m.powerParams };
          return new MaasReply(200, out);
        }
        if (op === 'allocate') {
          const m = world.allocate(params);
          entry.systemId = m.systemId;
          entry.host = m.hostname;
          return this.#machineReply(m, { constraints_by_type: {} });
        }
        const m = world.create(params);
        entry.systemId = m.systemId;
        entry.host = m.hostname;
        return this.#machineReply(m);
      }
      case 'MachineHandler': {
        const m = machine!;
        if (method === 'GET' && op === null) return this.#machineReply(m);
        if (method === 'PUT') return this.#machineReply(world.update(m, params));
        if (method === 'DELETE') {
          world.delete(m);
          return new MaasReply(204, '');
        }
        switch (op) {
          case 'commission':
            return this.#machineReply(world.commission(m));
          case 'deploy':
            return this.#machineReply(world.deploy(m, params));
          case 'release':
            return this.#machineReply(world.release(m, params));
          case 'abort':
            return this.#machineReply(world.abort(m));
          case 'mark_broken':
            return this.#machineReply(world.markBroken(m, params));
          case 'mark_fixed':
            return this.#machineReply(world.markFixed(m));
          case 'power_on':
            return this.#machineReply(world.powerOn(m));
          case 'power_off':
            return this.#machineReply(world.powerOff(m, params));
          case 'query_power_state':
            return new MaasReply(200, { state: world.powerState(m) });
          case 'power_parameters':
            return new MaasReply(200, { ...m.powerParams });
          case 'set_owner_data':
          case 'set_workload_annotations':
            return this.#machineReply(world.setAnnotations(m, params));
          default:
            return MaasReply.text(400, `Unrecognised signature: method=${method} op=${op ?? ''}`);
        }
      }
      case 'EventsHandler':
        return new MaasReply(200, world.queryEvents(params));
      case 'TagsHandler':
        if (method === 'GET') return new MaasReply(200, world.tags().map(tagJson));
        return new MaasReply(200, tagJson(world.createTag(params)));
      case 'TagHandler': {
        const t = world.tag(decodeURIComponent(segs[1] ?? ''));
        if (!t) return MaasReply.text(404, 'No Tag matches the given query.');
        if (method === 'DELETE') {
          world.deleteTag(t);
          return new MaasReply(204, '');
        }
        if (op === 'update_nodes') return new MaasReply(200, world.updateTagNodes(t, params));
        if (op === 'machines') return new MaasReply(200, new RawJson(`[${world.list(new URLSearchParams([['tags', t.name]])).map((m) => world.json(m)).join(',')}]`));
        return new MaasReply(200, tagJson(t));
      }
      default:
        return MaasReply.text(404, 'Unknown handler');
    }
  }

  /** `/_emulator/*`: the world's record and knobs, readable from outside the process. No auth. */
  #control(url: URL, method: string, raw: Buffer): MaasReply {
    const world = this.#world;
    const send = (status: number, body: unknown) => new MaasReply(status, body);
    const path = url.pathname.slice('/_emulator/'.length).replace(/\/$/, '');
    try {
      if (method === 'GET' && path === 'log') return send(200, this.#log);
      if (method === 'GET' && path === 'machines') {
        return send(
          200,
          world.all().map((m) => ({ ...world.render(m), _emulator: { powerCycles: m.powerCycles, userData: m.userData, powerParameters: m.powerParams } })),
        );
      }
      if (method === 'GET' && path === 'events') {
        const id = url.searchParams.get('system_id');
        return send(200, id ? world.eventsOf(id) : world.queryEvents(new URLSearchParams([['level', 'DEBUG'], ['limit', '1000']])).events);
      }
      if (method === 'GET' && path === 'faults') return send(200, world.faults);
      if (method === 'POST' && path === 'faults') {
        world.setFaults(JSON.parse(raw.toString('utf8') || '{}') as FaultConfig);
        return send(200, world.faults);
      }
      if (method === 'POST' && path === 'machines') {
        const seeds = JSON.parse(raw.toString('utf8')) as SeedMachine | SeedMachine[];
        const added = (Array.isArray(seeds) ? seeds : [seeds]).map((s) => world.render(world.add(s)));
        return send(200, added);
      }
      return send(404, { error: `Unknown emulator endpoint: ${url.pathname}` });
    } catch (e) {
      return send(400, { error: e instanceof Error ? e.message : String(e) });
    }
  }
}

/** Pre-serialized JSON (machine lists are joined from cached machine JSON). */
class RawJson {
  constructor(readonly text: string) {}
}

function tagJson(t: { name: string; comment: string; definition: string; kernel_opts: string | null }): Record<string, unknown> {
  return { ...t, resource_uri: `/MAAS/api/2.0/tags/${encodeURIComponent(t.name)}/` };
}

/** A describe catalogue of what the emulator answers, in MAAS's `describe/` shape. */
function describe(): Record<string, unknown> {
  const byHandler = new Map<string, Route[]>();
  for (const r of EMULATOR_ROUTES) byHandler.set(r.handler, [...(byHandler.get(r.handler) ?? []), r]);
  return {
    doc: 'MAAS API (Gough emulator)',
    hash: 'gough-emulator',
    resources: [...byHandler.entries()].map(([name, routes]) => {
      const path = `${API}${routes[0]?.path ?? ''}`;
      const handler = {
        name,
        path,
        uri: `http://localhost:5240${path}`,
        params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]),
        doc: '',
        actions: routes.map((r) => ({ method: r.method, op: r.op, restful: r.op === null, name: r.op ?? 'read', doc: '' })),
      };
      return routes[0]?.anon ? { name, anon: handler, auth: null } : { name, anon: null, auth: handler };
    }),
  };
}
