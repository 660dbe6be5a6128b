/**
 * The boot HTTP server: per-MAC iPXE scripts through the gate, NoCloud seeds while an install runs, the install's
 * completion callback, and static files (kernel, initrd) from one directory. Built separately from `listen()`.
 */
import { createReadStream } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { DesiredHost } from '../../../model/index.js';
import type { BootEvent } from '../events.js';
import { type GateStore, decideBoot } from '../gate.js';
import { resolveInRoot } from '../jail.js';

export type BootCatalog = {
  /** The desired host booting from this MAC (lower-case, colon-separated). */
  byMac(mac: string): DesiredHost | undefined;
  discover: boolean;
};

export type BootHttpOptions = {
  catalog: BootCatalog;
  gate: GateStore;
  onEvent: (e: BootEvent) => void;
  /** HTTP boot root: other paths are files under it (kernels, initrds); none when undefined. */
  filesDir?: string;
  now?: () => number;
};

const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;

function normalizeMac(s: string): string | undefined {
  const d = decodeURIComponent(s);
  return MAC.test(d) ? d.toLowerCase().replace(/-/g, ':') : undefined;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function clientAddress(req: IncomingMessage): string | undefined {
  const a = req.socket.remoteAddress;
  return a?.startsWith('::ffff:') ? a.slice(7) : a;
}

export function createBootHttpServer(opts: BootHttpOptions): Server {
  const now = () => new Date(opts.now?.() ?? Date.now()).toISOString();
  const event = (e: Omit<BootEvent, 'at'>) => opts.onEvent({ at: now(), ...e } as BootEvent);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://boot');
    const path = url.pathname;
    const address = clientAddress(req);
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return send(res, 405, 'method not allowed\n');

    let m = /^\/boot\/([^/]+)\.ipxe$/.exec(path);
    if (m !== null) {
      const mac = normalizeMac(m[1] ?? '');
      if (mac === undefined) return send(res, 400, 'bad MAC\n');
      const desired = opts.catalog.byMac(mac);
      const record = desired === undefined ? undefined : await opts.gate.record(desired.host.metadata.name);
      const d = decideBoot({ mac, desired, record, discover: opts.catalog.discover });
      const host = desired?.host.metadata.name;
      event({
        kind: 'script-fetch',
        mac,
        ...(host === undefined ? {} : { host }),
        ...(address === undefined ? {} : { address }),
        script: d.kind,
        ...(d.kind === 'install' && desired !== undefined ? { specHash: desired.rendered.specHash } : {}),
      });
      if (d.kind === 'discovery') {
        await opts.gate.noteDiscovered(mac, now(), address);
        event({ kind: 'discovered', mac, ...(address === undefined ? {} : { address }) });
      }
      return send(res, 200, d.script);
    }

    m = /^\/cloud-init\/([^/]+)\/(user-data|meta-data|vendor-data|network-config|done|phone-home)$/.exec(path);
    if (m !== null) {
      const mac = normalizeMac(m[1] ?? '');
      const what = m[2] ?? '';
      if (mac === undefined) return send(res, 400, 'bad MAC\n');
      const desired = opts.catalog.byMac(mac);
      if (desired === undefined) return send(res, 404, 'unknown machine\n');
      const host = desired.host.metadata.name;
      const record = await opts.gate.record(host);
      const armed = record?.armed;
      if (what === 'done' || what === 'phone-home') {
        if (armed === undefined) {
          return send(res, 409, record?.provisioned !== undefined ? 'already provisioned\n' : 'no install running\n');
        }
        await opts.gate.markProvisioned(host, armed.specHash, now());
        event({
          kind: 'install-complete',
          mac,
          host,
          specHash: armed.specHash,
          ...(address === undefined ? {} : { address }),
        });
        return send(res, 200, 'ok\n');
      }
      // The seed holds the host's user-data: only served while an install needs it.
      if (armed === undefined) return send(res, 404, 'no install running for this machine\n');
      const body =
        what === 'user-data'
          ? desired.rendered.userData
          : what === 'meta-data'
            ? desired.rendered.metaData
            : what === 'vendor-data'
              ? ''
              : 'version: 2\n';
      if (what === 'network-config') return send(res, 404, 'no network-config\n');
      event({ kind: 'cloud-init-fetch', mac, host, file: what, ...(address === undefined ? {} : { address }) });
      return send(res, 200, body);
    }

    if (path === '/healthz') return send(res, 200, 'ok\n');
    // Everything else: static files (installer kernel, initrd) relative to the HTTP boot root.
    if (opts.filesDir !== undefined && path.length > 1) {
      let name: string;
      try {
        name = decodeURIComponent(path.slice(1));
      } catch {
        return send(res, 400, 'bad path\n');
      }
      const r = await resolveInRoot(opts.filesDir, name);
      if (!r.ok) return send(res, r.reason === 'denied' ? 403 : 404, `${r.message}\n`);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': r.size });
      if (method === 'HEAD') return void res.end();
      createReadStream(r.path)
        .on('error', () => res.destroy())
        .pipe(res);
      return;
    }
    return send(res, 404, 'not found\n');
  }

  return createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
}
