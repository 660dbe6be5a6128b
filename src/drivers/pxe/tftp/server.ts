/**
 * Read-only TFTP server: one root (see jail.ts), one socket per transfer (RFC 1350 TIDs), options and windows
 * negotiated by transfer.ts. This thread owns port 69, the root jail (checked on every request) and the file cache;
 * accepted transfers run on worker threads (worker.ts, one per core by default), each on its own socket
 * (session.ts), with the file's DATA packets built once in shared memory. Boot events are emitted here.
 */
import { type Socket, createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BootEvent } from '../events.js';
import { type JailResult, readInRoot, resolveInRoot } from '../jail.js';
import { TFTP_ERRORS, type TftpRequest, decodeTftp, encodeTftp } from './codec.js';
import { type Remote, startSession } from './session.js';
import { DataPackets, type TransferLimits, negotiate, toNetascii } from './transfer.js';
import type { FromWorker, ToWorker } from './worker.js';

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
  /**
   * Worker threads that run the transfers (default: one per available core). 0 runs them on this thread, as does
   * running from the TypeScript sources, where the compiled worker script does not exist.
   */
  workers?: number;
  onEvent?: (e: BootEvent) => void;
  /** Maps a client address to its MAC (from DHCP leases), for events. */
  macOf?: (address: string) => { mac: string; host?: string } | undefined;
  now?: () => number;
};

/** One accepted transfer, until its socket is closed. */
type Job = {
  remote: Remote;
  file: string;
  bytes: number;
  started: number;
  slot: Slot | undefined;
  /** In-thread transfers only: closes the socket now. */
  abort?: () => void;
};

type Slot = { worker: Worker; active: number };

const WORKER_SCRIPT = new URL('./worker.js', import.meta.url);
/** Files up to this size are cached (contents and DATA packets); larger ones are read per request. */
const CACHE_FILE_BYTES = 16 * 2 ** 20;
const CACHE_FILES = 32;
/** Budget for cached DATA packets (all files, modes and block sizes). */
const CACHE_PACKET_BYTES = 256 * 2 ** 20;

/**
 * Starts a worker thread. Workers inherit the process's Node options, except that a main script given as code
 * (`node --input-type=module -e …`) makes a worker refuse `--input-type`: then they get the options without the
 * main-script ones, or none when those include options a worker cannot take (V8 flags).
 */
function startWorker(): Worker {
  const argv = process.execArgv;
  const own: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (['-e', '--eval', '-p', '--print', '--input-type'].includes(a)) i++;
    else if (!/^(--eval|--print|--input-type)=/.test(a)) own.push(a);
  }
  if (own.length === argv.length) return new Worker(WORKER_SCRIPT);
  try {
    return new Worker(WORKER_SCRIPT, { execArgv: own });
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    return new Worker(WORKER_SCRIPT, { execArgv: [] });
  }
}

export class TftpServer {
  readonly #opts: TftpServerOptions;
  readonly #sock: Socket;
  readonly #jobs = new Map<number, Job>();
  readonly #slots: Slot[] = [];
  /** Sockets answering a refused request with an ERROR. */
  readonly #replies = new Set<Socket>();
  readonly #cache = new Map<string, Promise<JailResult>>();
  /** DATA packets per file version, mode and block size; insertion order is eviction order. */
  readonly #packets = new Map<string, DataPackets>();
  #packetBytes = 0;
  #nextId = 1;
  #closed = false;
  /** Transfers run on worker threads: DATA packets go to shared memory. */
  #shared = false;
  #respawn: NodeJS.Timeout | undefined;

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
    const workers = existsSync(fileURLToPath(WORKER_SCRIPT)) ? (opts.workers ?? availableParallelism()) : 0;
    server.#shared = workers > 0;
    try {
      await Promise.all(Array.from({ length: workers }, () => server.#spawn()));
    } catch (e) {
      await server.close();
      throw e;
    }
    sock.on('message', (msg, rinfo) => {
      server.#onRequest(msg, { address: rinfo.address, port: rinfo.port });
    });
    return server;
  }

  get port(): number {
    return this.#sock.address().port;
  }

  get activeTransfers(): number {
    return this.#jobs.size;
  }

  /** Worker threads running (0 when transfers run on this thread, and after `close`). */
  get workers(): number {
    return this.#slots.length;
  }

  /** Stops listening, aborts every transfer and terminates the worker threads. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#respawn);
    for (const job of this.#jobs.values()) job.abort?.();
    this.#jobs.clear();
    for (const s of this.#replies) s.close();
    this.#replies.clear();
    const slots = this.#slots.splice(0);
    await Promise.all([
      new Promise<void>((r) => this.#sock.close(() => r())),
      ...slots.map(async (s) => {
        s.worker.postMessage({ op: 'close' } satisfies ToWorker);
        await s.worker.terminate();
      }),
    ]);
  }

  #spawn(): Promise<void> {
    const worker = startWorker();
    const slot: Slot = { worker, active: 0 };
    this.#slots.push(slot);
    worker.on('message', (m: FromWorker) => this.#fromWorker(slot, m));
    worker.on('exit', () => this.#lost(slot));
    return new Promise<void>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (m: FromWorker) => {
        if (m.op === 'ready') resolve();
      });
    });
  }

  /** A worker exited on its own: its transfers fail, a new worker takes its place a second later. */
  #lost(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i === -1 || this.#closed) return;
    this.#slots.splice(i, 1);
    for (const [id, job] of this.#jobs) {
      if (job.slot !== slot) continue;
      this.#jobs.delete(id);
      this.#ended(job, { ok: false, reason: 'worker thread exited' });
    }
    this.#respawn ??= setTimeout(() => {
      this.#respawn = undefined;
      if (!this.#closed) this.#spawn().catch(() => {});
    }, 1000);
  }

  #fromWorker(slot: Slot, m: FromWorker): void {
    if (m.op === 'ready' || m.op === 'stopped') return;
    const job = this.#jobs.get(m.id);
    if (job === undefined) return;
    if (m.op === 'done') this.#ended(job, m);
    else {
      this.#jobs.delete(m.id);
      slot.active--;
    }
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  #ended(job: Job, r: { ok: boolean; reason: string }): void {
    this.#event(r.ok ? 'tftp-fetch' : 'tftp-error', job.remote, {
      file: job.file,
      bytes: job.bytes,
      ms: this.#now() - job.started,
      ...(r.ok ? {} : { reason: r.reason }),
    });
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
    if (this.#jobs.size >= (this.#opts.maxTransfers ?? 1000)) {
      reply(TFTP_ERRORS.undefined, 'Server busy');
      return;
    }
    this.#serve(req, remote).catch(() => {});
  }

  /**
   * Reads a file through the root jail. Contents are shared between concurrent transfers of the same file while its
   * size and mtime are unchanged (a boot storm reads undionly.kpxe once, not once per machine); the jail checks run
   * on every request. `key` names the file version when it is cached.
   */
  async #read(name: string): Promise<{ got: JailResult; key?: string }> {
    const maxBytes = this.#opts.maxBytes ?? 64 * 2 ** 20;
    const r = await resolveInRoot(this.#opts.root, name);
    if (!r.ok) return { got: r };
    if (r.size > maxBytes) {
      return { got: { ok: false, reason: 'too-large', message: `File is larger than ${maxBytes} bytes` } };
    }
    if (r.size > CACHE_FILE_BYTES) return { got: await readInRoot(this.#opts.root, name, { maxBytes }) };
    const key = `${r.path}\0${r.size}\0${r.mtimeMs}`;
    let p = this.#cache.get(key);
    if (p === undefined) {
      p = readInRoot(this.#opts.root, name, { maxBytes });
      if (this.#cache.size >= CACHE_FILES) this.#cache.delete(this.#cache.keys().next().value as string);
      this.#cache.set(key, p);
      p.then(
        (x) => {
          if (!x.ok) this.#cache.delete(key);
        },
        () => this.#cache.delete(key),
      );
    }
    return { got: await p, key };
  }

  /** The file's DATA packets for one mode and block size: cached per file version, in shared memory for workers. */
  #packetsOf(key: string | undefined, data: Uint8Array, mode: string, blksize: number): DataPackets {
    const alloc = this.#shared ? (n: number) => new Uint8Array(new SharedArrayBuffer(n)) : undefined;
    if (key === undefined) return DataPackets.build(data, blksize, alloc);
    const k = `${key}\0${mode}\0${blksize}`;
    const hit = this.#packets.get(k);
    if (hit !== undefined) return hit;
    const built = DataPackets.build(data, blksize, alloc);
    this.#packets.set(k, built);
    this.#packetBytes += built.buffer.length;
    for (const [old, p] of this.#packets) {
      if (this.#packetBytes <= CACHE_PACKET_BYTES || old === k) break;
      this.#packets.delete(old);
      this.#packetBytes -= p.buffer.length;
    }
    return built;
  }

  async #serve(req: TftpRequest, remote: Remote): Promise<void> {
    const started = this.#now();
    const { got, key } = await this.#read(req.filename);
    if (this.#closed) return;
    const host = this.#opts.host ?? '0.0.0.0';
    if (!got.ok) {
      const code = got.reason === 'not-found' ? TFTP_ERRORS.notFound : TFTP_ERRORS.accessViolation;
      this.#refuse(host, remote, code, got.message);
      this.#event('tftp-error', remote, {
        file: req.filename,
        reason: got.message,
      });
      return;
    }
    // Netascii is converted per request (it is rare: iPXE and PXE ROMs ask for octet); octet bytes are the cache's.
    const data = req.mode === 'netascii' ? toNetascii(got.data) : got.data;
    const negotiation = negotiate(req.options, data.length, this.#opts.limits);
    const packets = this.#packetsOf(req.mode === 'netascii' ? undefined : key, data, req.mode, negotiation.blksize);
    const limits = this.#opts.limits ?? {};
    const id = this.#nextId++;
    const job: Job = { remote, file: req.filename, bytes: data.length, started, slot: undefined };
    this.#jobs.set(id, job);
    let slot: Slot | undefined;
    for (const s of this.#slots) if (slot === undefined || s.active < slot.active) slot = s;
    if (slot !== undefined) {
      job.slot = slot;
      slot.active++;
      slot.worker.postMessage({
        op: 'serve',
        id,
        host,
        remote,
        packets: packets.buffer,
        size: packets.size,
        negotiation,
        limits,
      } satisfies ToWorker);
      return;
    }
    job.abort = startSession(
      { host, remote, packets, negotiation, limits },
      {
        done: (r) => this.#ended(job, r),
        closed: () => this.#jobs.delete(id),
      },
    );
  }

  /** Answers a refused request from a new socket (a TID of its own, as a transfer would). */
  #refuse(host: string, remote: Remote, code: number, message: string): void {
    const sock = createSocket('udp4');
    this.#replies.add(sock);
    const done = () => {
      if (this.#replies.delete(sock)) sock.close();
    };
    sock.on('error', done);
    sock.bind({ address: host, port: 0 }, () => {
      if (!this.#replies.has(sock)) return;
      sock.send(encodeTftp({ op: 'ERROR', code, message }), remote.port, remote.address, done);
    });
  }
}
