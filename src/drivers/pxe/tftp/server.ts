/**
 * Read-only TFTP server: one root (see jail.ts), one socket per transfer (RFC 1350 TIDs), options and windows
 * negotiated by transfer.ts. The only TFTP file that touches sockets.
 */
import { type Socket, createSocket } from 'node:dgram';
import type { BootEvent } from '../events.js';
import { type JailResult, readInRoot, resolveInRoot } from '../jail.js';
import { TFTP_ERRORS, type TftpRequest, decodeTftp, encodeTftp } from './codec.js';
import { ReadTransfer, type Step, type TransferLimits, negotiate, toNetascii } from './transfer.js';

export const DEFAULT_TFTP_ROOT = '/usr/lib/ipxe';

export type TftpServerOptions = {
  root: string;
  host?: string;
  /** Default 69; 0 picks a free port. */
  port?: number;
  limits?: TransferLimits;
  /** Largest file served (default 64 MiB). */
  maxBytes?: number;
  /** Concurrent transfers (default 1000); beyond it requests get an error. */
  maxTransfers?: number;
  onEvent?: (e: BootEvent) => void;
  /** Maps a client address to its MAC (from DHCP leases), for events. */
  macOf?: (address: string) => { mac: string; host?: string } | undefined;
  now?: () => number;
};

type Remote = { address: string; port: number };

export class TftpServer {
  readonly #opts: TftpServerOptions;
  readonly #sock: Socket;
  readonly #active = new Set<Socket>();
  readonly #finishers = new Map<Socket, () => void>();
  readonly #cache = new Map<string, Promise<JailResult>>();
  #closed = false;

  private constructor(opts: TftpServerOptions, sock: Socket) {
    this.#opts = opts;
    this.#sock = sock;
  }

  static async listen(opts: TftpServerOptions): Promise<TftpServer> {
    const sock = createSocket({ type: 'udp4', reuseAddr: false });
    const server = new TftpServer(opts, sock);
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: opts.host ?? '0.0.0.0', port: opts.port ?? 69 }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', () => {});
    sock.on('message', (msg, rinfo) => {
      server.#onRequest(msg, { address: rinfo.address, port: rinfo.port });
    });
    return server;
  }

  get port(): number {
    return this.#sock.address().port;
  }

  get activeTransfers(): number {
    return this.#active.size;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const f of [...this.#finishers.values()]) f();
    for (const s of this.#active) s.close();
    this.#active.clear();
    await new Promise<void>((r) => this.#sock.close(() => r()));
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  #event(kind: 'tftp-fetch' | 'tftp-error', remote: Remote, extra: Partial<BootEvent>): void {
    const who = this.#opts.macOf?.(remote.address);
    const e: BootEvent = {
      kind,
      at: new Date(this.#now()).toISOString(),
      address: remote.address,
    };
    if (who !== undefined) {
      e.mac = who.mac;
      if (who.host !== undefined) e.host = who.host;
    }
    this.#opts.onEvent?.({ ...e, ...extra });
  }

  #onRequest(msg: Buffer, remote: Remote): void {
    let req: TftpRequest;
    try {
      const p = decodeTftp(msg);
      if (p.op !== 'RRQ' && p.op !== 'WRQ') return; // stray packets to port 69 are dropped
      req = p;
    } catch {
      return;
    }
    const reply = (code: number, message: string) => {
      this.#sock.send(encodeTftp({ op: 'ERROR', code, message }), remote.port, remote.address);
    };
    if (req.op === 'WRQ') {
      reply(TFTP_ERRORS.accessViolation, 'Server is read-only');
      this.#event('tftp-error', remote, {
        file: req.filename,
        reason: 'write refused',
      });
      return;
    }
    if (req.mode !== 'octet' && req.mode !== 'netascii') {
      reply(TFTP_ERRORS.illegalOperation, `Mode "${req.mode}" is not supported`);
      return;
    }
    if (this.#active.size >= (this.#opts.maxTransfers ?? 1000)) {
      reply(TFTP_ERRORS.undefined, 'Server busy');
      return;
    }
    this.#serve(req, remote).catch(() => {});
  }

  /**
   * Reads a file through the root jail. Contents are shared between concurrent transfers of the same file while its
   * size and mtime are unchanged (a boot storm reads undionly.kpxe once, not once per machine); the jail checks run
   * on every request.
   */
  async #read(name: string): Promise<JailResult> {
    const maxBytes = this.#opts.maxBytes ?? 64 * 2 ** 20;
    const r = await resolveInRoot(this.#opts.root, name);
    if (!r.ok) return r;
    if (r.size > maxBytes) return { ok: false, reason: 'too-large', message: `File is larger than ${maxBytes} bytes` };
    const key = `${r.path}\0${r.size}\0${r.mtimeMs}`;
    let p = this.#cache.get(key);
    if (p === undefined) {
      p = readInRoot(this.#opts.root, name, { maxBytes });
      if (r.size <= 16 * 2 ** 20) {
        if (this.#cache.size >= 32) this.#cache.delete(this.#cache.keys().next().value as string);
        this.#cache.set(key, p);
        p.then(
          (x) => {
            if (!x.ok) this.#cache.delete(key);
          },
          () => this.#cache.delete(key),
        );
      }
    }
    return p;
  }

  async #serve(req: TftpRequest, remote: Remote): Promise<void> {
    const started = this.#now();
    const got = await this.#read(req.filename);
    if (this.#closed) return;
    const sock = createSocket('udp4');
    this.#active.add(sock);
    let timer: NodeJS.Timeout | undefined;
    let open = true;
    const finish = () => {
      if (timer !== undefined) clearTimeout(timer);
      open = false;
      if (this.#active.delete(sock)) sock.close();
    };
    this.#finishers.set(sock, finish);
    sock.on('close', () => {
      open = false;
      if (timer !== undefined) clearTimeout(timer);
      this.#finishers.delete(sock);
    });
    sock.on('error', finish);
    await new Promise<void>((r) => sock.bind({ address: this.#opts.host ?? '0.0.0.0', port: 0 }, () => r()));
    if (!got.ok) {
      const code = got.reason === 'not-found' ? TFTP_ERRORS.notFound : TFTP_ERRORS.accessViolation;
      sock.send(encodeTftp({ op: 'ERROR', code, message: got.message }), remote.port, remote.address, finish);
      this.#event('tftp-error', remote, {
        file: req.filename,
        reason: got.message,
      });
      return;
    }
    // A connected socket: sends skip address resolution and the kernel drops packets from other TIDs.
    await new Promise<void>((r) => sock.connect(remote.port, remote.address, () => r()));
    const data = req.mode === 'netascii' ? toNetascii(got.data) : got.data;
    const n = negotiate(req.options, data.length, this.#opts.limits);
    const t = new ReadTransfer(data, n, this.#opts.limits);
    const run = (step: Step) => {
      if (!open) return;
      for (const pkt of step.send) sock.send(pkt);
      if (step.done !== undefined) {
        this.#event(step.done.ok ? 'tftp-fetch' : 'tftp-error', remote, {
          file: req.filename,
          bytes: data.length,
          ms: this.#now() - started,
          ...(step.done.ok ? {} : { reason: step.done.reason }),
        });
        if (timer !== undefined) clearTimeout(timer);
        // Linger briefly on the final block so a retransmitted last ACK is not answered with an error.
        setTimeout(finish, 50).unref();
        return;
      }
      if (step.timeoutMs !== undefined) {
        if (timer === undefined) timer = setTimeout(() => run(t.onTimeout()), step.timeoutMs);
        else timer.refresh();
      }
    };
    sock.on('message', (msg) => {
      let p: ReturnType<typeof decodeTftp>;
      try {
        p = decodeTftp(msg);
      } catch {
        return;
      }
      run(t.onPacket(p));
    });
    run(t.start());
  }
}
