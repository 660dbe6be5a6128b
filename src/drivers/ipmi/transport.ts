/**
 * One connected UDP socket to one BMC, with request/answer matching, per-attempt timeouts and retransmits.
 * The only file of the IPMI client that touches a socket.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { GoughError, isGoughError } from '../../model/index.js';

export type ExchangeOptions = {
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** Extra attempts after the first (retransmits). */
  retries: number;
  signal?: AbortSignal | undefined;
};

/**
 * `accept` sees every datagram while the exchange waits: it returns a value to finish, `undefined` to keep
 * waiting (a stale or foreign packet). Decode errors (GoughError 'ipmi-decode') thrown by it drop the packet;
 * any other error ends the exchange with that error.
 */
export type Accept<T> = (datagram: Buffer) => T | undefined;

export class UdpTransport {
  readonly target: string;
  #socket: Socket;
  #ready: Promise<void>;
  #listener: ((msg: Buffer) => void) | undefined;
  #errorListener: ((e: Error) => void) | undefined;
  #closed = false;

  private constructor(host: string, port: number) {
    this.target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.#socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    this.#socket.on('message', (msg) => this.#listener?.(msg));
    this.#socket.on('error', (e) => this.#errorListener?.(e));
    this.#ready = new Promise((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.connect(port, host, () => {
        this.#socket.off('error', reject);
        resolve();
      });
    });
  }

  static async connect(host: string, port: number): Promise<UdpTransport> {
    const t = new UdpTransport(host, port);
    try {
      await t.#ready;
    } catch (e) {
      t.close();
      throw new GoughError('unreachable', `Cannot reach BMC "${t.target}": ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
        retry: { kind: 'backoff' },
        cause: e,
      });
    }
    return t;
  }

  /** Sends `build(attempt)` and waits for an accepted answer; retransmits on timeout. */
  exchange<T>(build: (attempt: number) => Buffer, accept: Accept<T>, opts: ExchangeOptions): Promise<T> {
    if (this.#closed) return Promise.reject(new GoughError('internal', `Session to BMC "${this.target}" is closed`));
    if (this.#listener) return Promise.reject(new GoughError('internal', 'Concurrent exchanges on one IPMI transport'));
    return new Promise<T>((resolve, reject) => {
      let attempt = 0;
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (err: unknown, value?: T) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.#listener = undefined;
        this.#errorListener = undefined;
        opts.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(value as T);
      };
      const onAbort = () => finish(new GoughError('aborted', `Request to BMC "${this.target}" cancelled`, { cause: opts.signal?.reason }));
      if (opts.signal?.aborted) {
        onAbort();
        return;
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const send = () => {
        let packet: Buffer;
        try {
          packet = build(attempt);
        } catch (e) {
          finish(e);
          return;
        }
        this.#socket.send(packet, (e) => {
          if (e && !this.#closed) finish(this.#unreachable(e));
        });
        if (done) return;
        timer = setTimeout(() => {
          attempt++;
          if (attempt > opts.retries) {
            finish(
              new GoughError('unreachable', `BMC "${this.target}" did not answer: no reply after ${attempt} attempts`, {
                retry: { kind: 'backoff' },
              }),
            );
          } else send();
        }, opts.timeoutMs);
      };
      this.#listener = (msg) => {
        let value: T | undefined;
        try {
          value = accept(msg);
        } catch (e) {
          if (isGoughError(e) && e.code === 'ipmi-decode') return;
          finish(e);
          return;
        }
        if (value !== undefined) finish(undefined, value);
      };
      this.#errorListener = (e) => finish(this.#unreachable(e));
      send();
    });
  }

  /** Sends without waiting for an answer (best effort). */
  sendOnly(packet: Buffer): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#socket.send(packet, () => resolve()));
  }

  #unreachable(e: Error): GoughError {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return new GoughError('unreachable', `Cannot reach BMC "${this.target}": ${code}`, { retry: { kind: 'backoff' }, cause: e });
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}
