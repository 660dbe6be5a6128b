/**
 * One TFTP read transfer as a pure state machine: option negotiation (RFC 2347/2348/2349, RFC 7440 windowsize),
 * windowed sending, retransmission on timeout, block-number rollover. The server feeds it packets and timeouts and
 * sends what it returns; it never touches a socket or a clock.
 */
import { TFTP_ERRORS, type TftpPacket, encodeTftp } from './codec.js';

export type TransferLimits = {
  /** Largest block size granted (default 1468: fits a 1500-byte MTU). */
  maxBlksize?: number;
  /** Largest window granted (default 16). */
  maxWindow?: number;
  /** Retransmit timeout when the client names none (default 1000 ms). */
  timeoutMs?: number;
  /** Retransmissions before giving up (default 5). */
  retries?: number;
};

export type Negotiation = {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** Options to acknowledge in an OACK; empty means no OACK (plain RFC 1350). */
  oack: Record<string, string>;
};

/** Decides which requested options are granted, clamping values to the server's limits. */
export function negotiate(requested: Record<string, string>, size: number, limits: TransferLimits = {}): Negotiation {
  const n: Negotiation = {
    blksize: 512,
    windowsize: 1,
    timeoutMs: limits.timeoutMs ?? 1000,
    oack: {},
  };
  const int = (v: string | undefined): number | undefined =>
    v !== undefined && /^\d{1,9}$/.test(v) ? Number(v) : undefined;
  const blk = int(requested.blksize);
  if (blk !== undefined && blk >= 8) {
    n.blksize = Math.min(blk, limits.maxBlksize ?? 1468, 65464);
    n.oack.blksize = String(n.blksize);
  }
  const tsize = int(requested.tsize);
  if (tsize !== undefined) n.oack.tsize = String(size);
  const timeout = int(requested.timeout);
  if (timeout !== undefined && timeout >= 1 && timeout <= 255) {
    n.timeoutMs = timeout * 1000;
    n.oack.timeout = String(timeout);
  }
  const win = int(requested.windowsize);
  if (win !== undefined && win >= 1 && win <= 65535) {
    n.windowsize = Math.min(win, limits.maxWindow ?? 16);
    n.oack.windowsize = String(n.windowsize);
  }
  return n;
}

export type Step = {
  /** Encoded packets to send to the client, in order. */
  send: Uint8Array[];
  /** Arm (or re-arm) the retransmit timer with this delay; undefined = leave as is. */
  timeoutMs?: number;
  /** The transfer is over (`ok` false: gave up or the client aborted). */
  done?: { ok: boolean; reason: string };
};

/** LF → CR LF, CR → CR NUL (RFC 764 netascii). */
export function toNetascii(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const c of data) {
    if (c === 10) out.push(13, 10);
    else if (c === 13) out.push(13, 0);
    else out.push(c);
  }
  return Uint8Array.from(out);
}

export class ReadTransfer {
  readonly #data: Uint8Array;
  readonly #n: Negotiation;
  readonly #retries: number;
  readonly #blocks: number;
  /** Highest block (absolute, 1-based) the client acknowledged; 0 before the first. */
  #acked = 0;
  #waitingOack: boolean;
  #tries = 0;
  #finished = false;

  constructor(data: Uint8Array, negotiation: Negotiation, limits: TransferLimits = {}) {
    this.#data = data;
    this.#n = negotiation;
    this.#retries = limits.retries ?? 5;
    this.#blocks = Math.floor(data.length / negotiation.blksize) + 1;
    this.#waitingOack = Object.keys(negotiation.oack).length > 0;
  }

  get blocks(): number {
    return this.#blocks;
  }

  get finished(): boolean {
    return this.#finished;
  }

  start(): Step {
    if (this.#waitingOack) {
      return {
        send: [encodeTftp({ op: 'OACK', options: this.#n.oack })],
        timeoutMs: this.#n.timeoutMs,
      };
    }
    return this.#window();
  }

  #block(abs: number): Uint8Array {
    const from = (abs - 1) * this.#n.blksize;
    const data = this.#data.subarray(from, Math.min(from + this.#n.blksize, this.#data.length));
    return encodeTftp({ op: 'DATA', block: abs & 0xffff, data });
  }

  #window(): Step {
    const send: Uint8Array[] = [];
    const last = Math.min(this.#acked + this.#n.windowsize, this.#blocks);
    for (let b = this.#acked + 1; b <= last; b++) send.push(this.#block(b));
    return { send, timeoutMs: this.#n.timeoutMs };
  }

  onPacket(p: TftpPacket): Step {
    if (this.#finished) return { send: [] };
    if (p.op === 'ERROR') {
      this.#finished = true;
      return {
        send: [],
        done: {
          ok: false,
          reason: `client aborted: ${p.message || `error ${p.code}`}`,
        },
      };
    }
    if (p.op !== 'ACK') {
      this.#finished = true;
      return {
        send: [
          encodeTftp({
            op: 'ERROR',
            code: TFTP_ERRORS.illegalOperation,
            message: 'Illegal TFTP operation',
          }),
        ],
        done: { ok: false, reason: `unexpected ${p.op}` },
      };
    }
    if (this.#waitingOack) {
      if (p.block !== 0) return { send: [] };
      this.#waitingOack = false;
      this.#tries = 0;
      return this.#window();
    }
    // Map the 16-bit block number onto the absolute one within the window in flight.
    const ahead = (p.block - (this.#acked & 0xffff) + 0x10000) & 0xffff;
    if (ahead === 0 || ahead > this.#n.windowsize) return { send: [] }; // duplicate or stale ACK: no Sorcerer's Apprentice
    const abs = this.#acked + ahead;
    if (abs > this.#blocks) return { send: [] };
    this.#acked = abs;
    this.#tries = 0;
    if (abs === this.#blocks) {
      this.#finished = true;
      return { send: [], done: { ok: true, reason: 'complete' } };
    }
    return this.#window();
  }

  onTimeout(): Step {
    if (this.#finished) return { send: [] };
    this.#tries++;
    if (this.#tries > this.#retries) {
      this.#finished = true;
      return {
        send: [],
        done: {
          ok: false,
          reason: `no acknowledgement after ${this.#retries} retransmissions`,
        },
      };
    }
    return this.#waitingOack ? this.start() : this.#window();
  }
}
