/**
 * The daemon's HTTP face on one port: health, readiness, Prometheus metrics, GitHub webhooks, the JSON
 * status API, server-sent events and the status page. `createHttpServer` builds the server without
 * listening, so tests can inject requests and the caller chooses address and port.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Server } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createDaemonMetrics } from './metrics.js';
import type { DaemonEvent, DaemonView } from './view.js';

export type HttpServerOptions = {
  view: DaemonView;
  /** Registry the daemon metrics register on (a fresh one by default). */
  registry?: Registry;
  logger: Logger;
  /** `/readyz` fails when the last successful pass is older than this (default 10 min). */
  readyMaxAgeMs?: number;
  /** Largest webhook body accepted (default 5 MiB; GitHub caps payloads at 25 MB but sends far less). */
  webhookMaxBytes?: number;
  /** SSE keep-alive comment interval (default 15 s). */
  heartbeatMs?: number;
  /** Clock for `/readyz` (tests). */
  now?: () => number;
  /** Folder of the status page assets (default: the package's `daemon/ui`). */
  uiDir?: string;
};

type Asset = { body: Buffer; type: string };

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
  ico: 'image/x-icon',
  png: 'image/png',
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const PAGE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/** The HTTP server, with `close()` also ending open event streams (otherwise they would keep it open). */
export class DaemonHttpServer extends Server {
  readonly #onClose: () => void;
  constructor(handler: (req: IncomingMessage, res: ServerResponse) => void, onClose: () => void) {
    super(handler);
    this.#onClose = onClose;
  }
  override close(callback?: (err?: Error) => void): this {
    this.#onClose();
    super.close(callback);
    this.closeIdleConnections();
    return this;
  }
}

export function createHttpServer(opts: HttpServerOptions): DaemonHttpServer {
  const { view } = opts;
  const log = opts.logger.child({ component: 'http' });
  const registry = opts.registry ?? new Registry();
  const metrics = createDaemonMetrics(view, { registry });
  const readyMaxAgeMs = opts.readyMaxAgeMs ?? 10 * 60_000;
  const webhookMaxBytes = opts.webhookMaxBytes ?? 5 * 1024 * 1024;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const now = opts.now ?? Date.now;
  const assets = loadAssets(opts.uiDir ?? defaultUiDir());

  const streams = new Set<ServerResponse>();
  let eventSeq = 0;
  const unsubscribe = view.subscribe((e: DaemonEvent) => {
    eventSeq += 1;
    const frame = `id: ${eventSeq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
    for (const res of streams) res.write(frame);
  });
  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, heartbeatMs);
  heartbeat.unref();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    res.on('finish', () => {
      log.debug({ method: req.method, path: req.url, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request');
    });
    route(req, res).catch((e: unknown) => {
      log.error({ err: e, method: req.method, path: req.url }, 'request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'Internal error\n');
      else res.destroy();
    });
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Prefixing (not resolving against a base) keeps `//host/x` a path instead of a host.
    const url = new URL(`http://localhost${(req.url ?? '/').startsWith('/') ? req.url : '/'}`);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/webhooks/github') {
      if (method !== 'POST') return methodNotAllowed(res, 'POST');
      return webhook(req, res);
    }
    if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
    switch (path) {
      case '/healthz':
        return send(res, 200, 'text/plain; charset=utf-8', 'ok\n', req);
      case '/readyz':
        return readyz(req, res);
      case '/metrics': {
        const body = await registry.metrics();
        return send(res, 200, registry.contentType, body, req);
      }
      case '/api/v1/status':
        res.setHeader('cache-control', 'no-store');
        return send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(view.snapshot())}\n`, req);
      case '/events':
        return events(req, res);
      case '/':
      case '/index.html':
        return asset(req, res, 'index.html');
      default:
        if (path.startsWith('/ui/')) return asset(req, res, path.slice('/ui/'.length));
        return send(res, 404, 'text/plain; charset=utf-8', 'Not found\n', req);
    }
  }

  function readyz(req: IncomingMessage, res: ServerResponse): void {
    const snap = view.snapshot();
    const at = snap.lastSuccessfulPassAt === undefined ? Number.NaN : Date.parse(snap.lastSuccessfulPassAt);
    if (!Number.isFinite(at)) {
      send(res, 503, 'text/plain; charset=utf-8', 'not ready: no successful pass yet\n', req);
      return;
    }
    const age = now() - at;
    if (age > readyMaxAgeMs) {
      send(res, 503, 'text/plain; charset=utf-8', `not ready: last successful pass ${Math.round(age / 1000)} s ago\n`, req);
      return;
    }
    send(res, 200, 'text/plain; charset=utf-8', 'ready\n', req);
  }

  function events(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.socket?.setNoDelay(true);
    res.write('retry: 2000\n\n');
    streams.add(res);
    const drop = (): void => {
      streams.delete(res);
    };
    req.on('close', drop);
    res.on('close', drop);
  }

  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > webhookMaxBytes) {
      res.setHeader('connection', 'close');
      send(res, 413, 'text/plain; charset=utf-8', 'Payload too large\n');
      req.resume();
      return;
    }
    const body = await readBody(req, webhookMaxBytes);
    if (body === undefined) {
      res.setHeader('connection', 'close');
      send(res, 413, 'text/plain; charset=utf-8', 'Payload too large\n');
      return;
    }
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const result = await view.handleWebhook(headers, body);
    log.info({ event: headers['x-github-event'], delivery: headers['x-github-delivery'], status: result.status }, 'webhook');
    send(res, result.status, 'text/plain; charset=utf-8', result.body.endsWith('\n') ? result.body : `${result.body}\n`);
  }

  function asset(req: IncomingMessage, res: ServerResponse, name: string): void {
    const a = assets.get(name);
    if (!a) {
      send(res, 404, 'text/plain; charset=utf-8', 'Not found\n', req);
      return;
    }
    res.setHeader('cache-control', 'no-cache');
    if (a.type.startsWith('text/html')) res.setHeader('content-security-policy', PAGE_CSP);
    send(res, 200, a.type, a.body, req);
  }

  return new DaemonHttpServer(handler, () => {
    unsubscribe();
    metrics.close();
    clearInterval(heartbeat);
    for (const res of streams) res.end();
    streams.clear();
  });
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, req?: IncomingMessage): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(buf.length) });
  res.end(req?.method === 'HEAD' ? undefined : buf);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n');
}

/** Reads a body up to `limit` bytes; resolves undefined (and stops reading) when it is larger. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/** The status page assets live next to this module (`ui/`); from `dist/` they are read from the package's `src/`. */
function defaultUiDir(): string {
  const candidates = [new URL('./ui/', import.meta.url), new URL('../../src/daemon/ui/', import.meta.url)];
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    try {
      if (readdirSync(dir).includes('index.html')) return dir;
    } catch {
      // try the next one
    }
  }
  return fileURLToPath(candidates[0] as URL);
}

function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const ext = name.slice(name.lastIndexOf('.') + 1);
    const type = CONTENT_TYPES[ext];
    if (type === undefined) continue;
    out.set(name, { body: readFileSync(`${dir}/${name}`), type });
  }
  return out;
}
