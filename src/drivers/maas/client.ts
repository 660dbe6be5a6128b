/**
 * MAAS API 2.0 client: OAuth 1.0 PLAINTEXT, `?op=` dispatch, form-encoded POST bodies, typed answers.
 *
 * Retry semantics (see docs/maas.md): MAAS answers 409 or 503 *with* `Retry-After` when it rolled the request back
 * (DB serialization conflict, power problem, IP exhaustion): the request had no effect, so the client waits the
 * given delay and sends it again, at most `maxRetries` times (4, like gomaasapi), and only when the delay is at most
 * `maxRetryAfterMs`; then it throws `busy` with `retry: {kind:'after'}` for the executor. Everything else is thrown
 * at once and classified: 409 without Retry-After → `conflict` (never retried, MAAS's message kept), 401 →
 * `auth-failed`, 403 → `permission-denied`, 404 → `not-found`, timeouts → `timeout` and connection errors →
 * `unreachable` (both `backoff`: the executor backs off; the client does not resend, because a POST may have acted).
 * The API key never appears in errors or logs: messages are scrubbed of every part of it.
 */
import type { Logger } from 'pino';
import { GoughError, isGoughError, scrubSecrets, sleep, type ErrorCode, type Retry } from '../../model/index.js';
import { type MaasCredentials, oauthHeader, parseApiKey } from './oauth.js';
import {
  type MaasEvent,
  type MaasMachine,
  type MaasTag,
  type MaasUser,
  type MaasVersion,
  parseEventsPage,
  parseMachine,
  parseMachines,
  parseTag,
  parseUser,
  parseVersion,
} from './types.js';

/** Every MAAS endpoint the client calls: method, path under `/MAAS/api/2.0/`, and `op`. Checked against describe. */
export const MAAS_OPERATIONS = {
  version: { method: 'GET', path: 'version/' },
  whoami: { method: 'GET', path: 'users/', op: 'whoami' },
  listMachines: { method: 'GET', path: 'machines/' },
  readMachine: { method: 'GET', path: 'machines/{system_id}/' },
  createMachine: { method: 'POST', path: 'machines/' },
  allocate: { method: 'POST', path: 'machines/', op: 'allocate' },
  commission: { method: 'POST', path: 'machines/{system_id}/', op: 'commission' },
  deploy: { method: 'POST', path: 'machines/{system_id}/', op: 'deploy' },
  release: { method: 'POST', path: 'machines/{system_id}/', op: 'release' },
  powerOn: { method: 'POST', path: 'machines/{system_id}/', op: 'power_on' },
  powerOff: { method: 'POST', path: 'machines/{system_id}/', op: 'power_off' },
  queryPowerState: { method: 'GET', path: 'machines/{system_id}/', op: 'query_power_state' },
  // MAAS 2.2's name; newer MAAS keeps it as an alias of set_workload_annotations.
  setAnnotations: { method: 'POST', path: 'machines/{system_id}/', op: 'set_owner_data' },
  queryEvents: { method: 'GET', path: 'events/', op: 'query' },
  listTags: { method: 'GET', path: 'tags/' },
  createTag: { method: 'POST', path: 'tags/' },
  updateTagNodes: { method: 'POST', path: 'tags/{name}/', op: 'update_nodes' },
  tagMachines: { method: 'GET', path: 'tags/{name}/', op: 'machines' },
} as const satisfies Record<string, { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string; op?: string }>;
export type MaasOperation = keyof typeof MAAS_OPERATIONS;

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export type MaasClientOptions = {
  /** MAAS URL, e.g. `http://maas:5240/MAAS` (a trailing `/api/2.0/` is accepted). */
  url: string;
  /** `consumer_key:token_key:token_secret`, or a function resolving it on first use (e.g. from a secret reference). */
  apiKey: string | (() => Promise<string>);
  fetch?: FetchLike;
  /** Per-call timeout unless the call gives its own (default 30 s). */
  timeoutMs?: number;
  /** Resends after Retry-After (default 4, like gomaasapi). 0 disables. */
  maxRetries?: number;
  /** A Retry-After longer than this is not waited on in-process; `busy` is thrown instead (default 60 s). */
  maxRetryAfterMs?: number;
  logger?: Logger;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
};

export type MaasCallOptions = { signal?: AbortSignal; timeoutMs?: number };
export type Params = Record<string, string | number | boolean | readonly (string | number)[] | undefined>;

export type CreateMachineInput = {
  architecture: string;
  macAddresses: readonly string[];
  hostname?: string;
  domain?: string;
  zone?: string;
  pool?: string;
  powerType?: string;
  /** Keys without the `power_parameters_` prefix, e.g. `power_address`, `power_user`, `power_pass`. */
  powerParameters?: Readonly<Record<string, string>>;
  description?: string;
};
export type DeployInput = { distroSeries?: string; userData?: string; hweKernel?: string; comment?: string };
export type ReleaseInput = { erase?: boolean; quickErase?: boolean; secureErase?: boolean; force?: boolean; comment?: string };

/** `Retry-After` as milliseconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

function encodeParams(params: Params): URLSearchParams {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) u.append(k, String(x));
    else u.append(k, typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v));
  }
  return u;
}

export class MaasClient {
  readonly baseUrl: string;
  #creds: MaasCredentials | undefined;
  #apiKey: (() => Promise<string>) | undefined;
  #secrets: string[] = [];
  #fetch: FetchLike;
  #timeoutMs: number;
  #maxRetries: number;
  #maxRetryAfterMs: number;
  #logger: Logger | undefined;
  #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(opts: MaasClientOptions) {
    if (typeof opts.apiKey === 'string') this.#setKey(opts.apiKey);
    else this.#apiKey = opts.apiKey;
    let base = opts.url.replace(/\/+$/, '');
    if (!/\/api\/2\.0$/.test(base)) base = `${base}/api/2.0`;
    this.baseUrl = `${base}/`;
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#maxRetries = opts.maxRetries ?? 4;
    this.#maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.#logger = opts.logger;
    this.#sleep = opts.sleep ?? sleep;
  }

  #setKey(apiKey: string): MaasCredentials {
    const creds = parseApiKey(apiKey);
    this.#secrets = [apiKey.trim(), creds.tokenSecret, creds.tokenKey, creds.consumerKey];
    this.#creds = creds;
    return creds;
  }

  async #credentials(): Promise<MaasCredentials> {
    if (this.#creds) return this.#creds;
    if (!this.#apiKey) throw new GoughError('auth-failed', 'MAAS API key is not configured');
    return this.#setKey(await this.#apiKey());
  }

  // -------------------------------------------------------------------------------------------
  // Operations

  async version(opts: MaasCallOptions = {}): Promise<MaasVersion> {
    return parseVersion(await this.call('version', {}, {}, opts));
  }

  async whoami(opts: MaasCallOptions = {}): Promise<MaasUser> {
    return parseUser(await this.call('whoami', {}, {}, opts));
  }

  /** One `GET machines/` (MAAS does not paginate); filters as MAAS names them (`hostname`, `mac_address`, `status`…). */
  async listMachines(filters: Params = {}, opts: MaasCallOptions = {}): Promise<MaasMachine[]> {
    return parseMachines(await this.call('listMachines', {}, filters, opts));
  }

  async readMachine(systemId: string, opts: MaasCallOptions = {}): Promise<MaasMachine> {
    return parseMachine(await this.call('readMachine', { system_id: systemId }, {}, opts));
  }

  async createMachine(input: CreateMachineInput, opts: MaasCallOptions = {}): Promise<MaasMachine> {
    const params: Params = {
      architecture: input.architecture,
      mac_addresses: input.macAddresses,
      hostname: input.hostname,
      domain: input.domain,
      zone: input.zone,
      pool: input.pool,
      power_type: input.powerType,
      description: input.description,
    };
    for (const [k, v] of Object.entries(input.powerParameters ?? {})) params[`power_parameters_${k}`] = v;
    return parseMachine(await this.call('createMachine', {}, params, opts));
  }

  async allocate(constraints: { systemId?: string; name?: string; comment?: string }, opts: MaasCallOptions = {}): Promise<MaasMachine> {
    const params: Params = { system_id: constraints.systemId, name: constraints.name, comment: constraints.comment };
    return parseMachine(await this.call('allocate', {}, params, opts));
  }

  async commission(
    systemId: string,
    input: { skipBmcConfig?: boolean; testingScripts?: string; enableSsh?: boolean } = {},
    opts: MaasCallOptions = {},
  ): Promise<MaasMachine> {
    const params: Params = {
      skip_bmc_config: input.skipBmcConfig === undefined ? undefined : input.skipBmcConfig ? 1 : 0,
      enable_ssh: input.enableSsh === undefined ? undefined : input.enableSsh ? 1 : 0,
      testing_scripts: input.testingScripts,
    };
    return parseMachine(await this.call('commission', { system_id: systemId }, params, opts));
  }

  /** Deploys; from Ready MAAS allocates first. `userData` is plain text: the client base64-encodes it. */
  async deploy(systemId: string, input: DeployInput = {}, opts: MaasCallOptions = {}): Promise<MaasMachine> {
    const params: Params = {
      distro_series: input.distroSeries,
      user_data: input.userData === undefined ? undefined : Buffer.from(input.userData, 'utf8').toString('base64'),
      hwe_kernel: input.hweKernel,
      comment: input.comment,
    };
    return parseMachine(await this.call('deploy', { system_id: systemId }, params, opts));
  }

  async release(systemId: string, input: ReleaseInput = {}, opts: MaasCallOptions = {}): Promise<MaasMachine> {
    const params: Params = {
      erase: input.erase,
      quick_erase: input.quickErase,
      secure_erase: input.secureErase,
      force: input.force,
      comment: input.comment,
    };
    return parseMachine(await this.call('release', { system_id: systemId }, params, opts));
  }

  /** MAAS `power_on`. For IPMI this cycles a running machine: call it only on a machine confirmed off. */
  async powerOn(systemId: string, input: { comment?: string } = {}, opts: MaasCallOptions = {}): Promise<MaasMachine> {
    return parseMachine(await this.call('powerOn', { system_id: systemId }, { comment: input.comment }, opts));
  }

  async powerOff(
    systemId: string,
    input: { stopMode?: 'soft' | 'hard'; comment?: string } = {},
    opts: MaasCallOptions = {},
  ): Promise<MaasMachine> {
    return parseMachine(
      await this.call('powerOff', { system_id: systemId }, { stop_mode: input.stopMode, comment: input.comment }, opts),
    );
  }

  /** Synchronous BMC query (MAAS waits up to 60 s server-side): use sparingly. */
  async queryPowerState(systemId: string, opts: MaasCallOptions = {}): Promise<string> {
    const r = await this.call('queryPowerState', { system_id: systemId }, {}, { timeoutMs: 90_000, ...opts });
    const state = typeof r === 'object' && r !== null ? (r as Record<string, unknown>)['state'] : undefined;
    if (typeof state !== 'string') throw this.#error('bad-response', 'Cannot read MAAS power state: no "state" field', { kind: 'backoff' });
    return state;
  }

  /** Sets workload annotations (key=value; an empty value deletes the key). MAAS clears them on release. */
  async setAnnotations(systemId: string, annotations: Readonly<Record<string, string>>, opts: MaasCallOptions = {}): Promise<MaasMachine> {
    return parseMachine(await this.call('setAnnotations', { system_id: systemId }, { ...annotations }, opts));
  }

  /**
   * Events, newest first, following `next_uri` (newer events) from `after` until a page comes back empty or
   * `maxPages` is reached. Without `after` it returns the latest page only.
   */
  async queryEvents(
    filters: { hostname?: string[]; id?: string[]; mac_address?: string[]; level?: string; limit?: number; after?: number; before?: number } = {},
    opts: MaasCallOptions & { maxPages?: number } = {},
  ): Promise<MaasEvent[]> {
    const first = parseEventsPage(await this.call('queryEvents', {}, filters, opts));
    const out = [...first.events];
    if (filters.after === undefined) return out;
    let next = first.nextUri;
    let pages = 1;
    while (next && out.length > 0 && pages < (opts.maxPages ?? 100)) {
      const page = parseEventsPage(await this.#request('GET', this.#resolveUri(next), undefined, 'queryEvents', opts));
      if (page.events.length === 0) break;
      out.unshift(...page.events);
      next = page.nextUri;
      pages++;
    }
    return out.sort((a, b) => b.id - a.id);
  }

  async listTags(opts: MaasCallOptions = {}): Promise<MaasTag[]> {
    const r = await this.call('listTags', {}, {}, opts);
    if (!Array.isArray(r)) throw this.#error('bad-response', 'Cannot read MAAS tags: not a JSON array', { kind: 'backoff' });
    return r.map(parseTag);
  }

  async createTag(input: { name: string; comment?: string; definition?: string }, opts: MaasCallOptions = {}): Promise<MaasTag> {
    return parseTag(await this.call('createTag', {}, input, opts));
  }

  async updateTagNodes(
    name: string,
    change: { add?: readonly string[]; remove?: readonly string[] },
    opts: MaasCallOptions = {},
  ): Promise<{ added: number; removed: number }> {
    const r = (await this.call('updateTagNodes', { name }, { add: change.add, remove: change.remove }, opts)) as Record<string, unknown>;
    return { added: Number(r?.['added'] ?? 0), removed: Number(r?.['removed'] ?? 0) };
  }

  async tagMachines(name: string, opts: MaasCallOptions = {}): Promise<MaasMachine[]> {
    return parseMachines(await this.call('tagMachines', { name }, {}, opts));
  }

  // -------------------------------------------------------------------------------------------
  // Transport

  /** Calls one catalogued operation. GET parameters go in the query string, POST/PUT ones in a form body. */
  async call(name: MaasOperation, pathParams: Record<string, string>, params: Params, opts: MaasCallOptions = {}): Promise<unknown> {
    const spec: { method: string; path: string; op?: string } = MAAS_OPERATIONS[name];
    const path = spec.path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(pathParams[k] ?? ''));
    const query = new URLSearchParams();
    if (spec.op) query.set('op', spec.op);
    let body: URLSearchParams | undefined;
    if (spec.method === 'GET' || spec.method === 'DELETE') {
      for (const [k, v] of encodeParams(params)) query.append(k, v);
    } else {
      body = encodeParams(params);
    }
    const qs = query.toString();
    return this.#request(spec.method, `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`, body, name, opts);
  }

  #resolveUri(uri: string): string {
    const base = new URL(this.baseUrl);
    const u = new URL(uri, base);
    if (u.origin !== base.origin) throw this.#error('bad-response', `MAAS returned a link to another origin: "${u.origin}"`, { kind: 'never' });
    return u.toString();
  }

  #error(code: ErrorCode, message: string, retry: Retry, cause?: unknown): GoughError {
    const opts: { retry: Retry; cause?: unknown } = { retry };
    if (cause !== undefined) opts.cause = cause;
    return new GoughError(code, scrubSecrets(message, this.#secrets), opts);
  }

  async #request(method: string, url: string, body: URLSearchParams | undefined, name: string, opts: MaasCallOptions): Promise<unknown> {
    const display = url.slice(this.baseUrl.length) || url;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.#once(method, url, body, display, opts);
      } catch (e) {
        // A GET on a kept-alive connection the server closed meanwhile is resent once on a fresh connection; a
        // POST never is (it may have acted).
        if (method !== 'GET' || attempt > 0 || !isGoughError(e) || e.code !== 'unreachable' || !/SOCKET|ECONNRESET|EPIPE/.test(e.message)) throw e;
        continue;
      }
      const text = await res.text();
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      this.#logger?.debug({ method, path: display.split('?')[0], op: name, status: res.status, attempt }, 'maas request');
      if (res.ok) {
        if (text === '' || res.status === 204) return null;
        const type = res.headers.get('content-type') ?? '';
        if (!type.includes('json')) return text;
        try {
          return JSON.parse(text) as unknown;
        } catch (e) {
          throw this.#error('bad-response', `MAAS ${method} ${display} answered invalid JSON`, { kind: 'backoff' }, e);
        }
      }
      const detail = text.trim().slice(0, 500) || res.statusText;
      if ((res.status === 409 || res.status === 503) && retryAfter !== undefined) {
        if (attempt < this.#maxRetries && retryAfter <= this.#maxRetryAfterMs) {
          this.#logger?.info({ method, op: name, status: res.status, retryAfterMs: retryAfter, attempt }, 'maas asked to retry later');
          try {
            await this.#sleep(retryAfter, opts.signal);
          } catch (e) {
            throw this.#error('aborted', `MAAS ${method} ${display} cancelled while waiting to retry`, { kind: 'never' }, e);
          }
          continue;
        }
        throw this.#error('busy', `MAAS ${method} ${display} is busy: ${res.status} ${detail}`, { kind: 'after', ms: retryAfter });
      }
      throw this.#classify(res.status, method, display, detail);
    }
  }

  #classify(status: number, method: string, display: string, detail: string): GoughError {
    const what = `MAAS ${method} ${display}`;
    switch (status) {
      case 401:
        return this.#error('auth-failed', `${what} rejected the API key: ${detail}`, { kind: 'never' });
      case 403:
        return this.#error('permission-denied', `${what} was refused: the API key lacks permission: ${detail}`, { kind: 'never' });
      case 404:
        return this.#error('not-found', `${what} found nothing: ${detail}`, { kind: 'never' });
      case 409:
        return this.#error('conflict', `${what} conflicts with the machine's state: ${detail}`, { kind: 'never' });
      case 400:
        return this.#error('provider-error', `${what} was rejected as invalid: ${detail}`, { kind: 'never' });
      case 503:
        return this.#error('busy', `${what} is unavailable: ${detail}`, { kind: 'backoff' });
      default:
        return this.#error('provider-error', `${what} failed: ${status} ${detail}`, { kind: status >= 500 ? 'backoff' : 'never' });
    }
  }

  async #once(method: string, url: string, body: URLSearchParams | undefined, display: string, opts: MaasCallOptions): Promise<Response> {
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const headers: Record<string, string> = { authorization: oauthHeader(await this.#credentials()), accept: 'application/json' };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    try {
      const init: RequestInit = { method, headers, signal };
      if (body) init.body = body.toString();
      return await this.#fetch(url, init);
    } catch (e) {
      if (opts.signal?.aborted) throw this.#error('aborted', `MAAS ${method} ${display} was cancelled`, { kind: 'never' }, e);
      if (timeout.aborted) throw this.#error('timeout', `MAAS ${method} ${display} did not answer within ${timeoutMs} ms`, { kind: 'backoff' }, e);
      const reason = errorReason(e);
      throw this.#error('unreachable', `MAAS at "${new URL(this.baseUrl).origin}" is unreachable: ${reason}`, { kind: 'backoff' }, e);
    }
  }
}

function errorReason(e: unknown): string {
  const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}
