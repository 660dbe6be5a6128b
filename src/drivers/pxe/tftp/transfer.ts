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

/**
 * A file cut into ready-to-send DATA packets for one block size: built once per file, mode and block size and shared,
 * read-only, by every transfer of it (also across worker threads when `alloc` gives shared memory). Block `abs`
 * (1-based, absolute) carries the 16-bit block number `abs & 0xffff`.
 */
export class DataPackets {
  /** File bytes (after any netascii conversion). */
  readonly size: number;
  readonly blksize: number;
  readonly blocks: number;
  /** Packets back to back, each `4 + blksize` bytes apart; the last one is short. */
  readonly buffer: Uint8Array;

  constructor(p: { buffer: Uint8Array; size: number; blksize: number }) {
    this.size = p.size;
    this.blksize = p.blksize;
    this.blocks = Math.floor(p.size / p.blksize) + 1;
    if (p.buffer.length !== DataPackets.bytes(p.size, p.blksize)) throw new RangeError('DATA packet buffer size mismatch');
    this.buffer = p.buffer;
  }

  /** Bytes needed for the packets of a `size`-byte file at `blksize`. */
  static bytes(size: number, blksize: number): number {
    return size + 4 * (Math.floor(size / blksize) + 1);
  }

  static build(
    data: Uint8Array,
    blksize: number,
    alloc: (bytes: number) => Uint8Array = (n) => new Uint8Array(n),
  ): DataPackets {
    const buffer = alloc(DataPackets.bytes(data.length, blksize));
    const blocks = Math.floor(data.length / blksize) + 1;
    for (let b = 1, from = 0, at = 0; b <= blocks; b++, from += blksize, at += blksize + 4) {
      buffer[at] = 0;
      buffer[at + 1] = 3;
      buffer[at + 2] = (b >> 8) & 255;
      buffer[at + 3] = b & 255;
      buffer.set(data.subarray(from, Math.min(from + blksize, data.length)), at + 4);
    }
    return new DataPackets({ buffer, size: data.length, blksize });
  }

  /** The encoded DATA packet of absolute block `abs` (1 … blocks), a view into the shared buffer. */
  packet(abs: number): Uint8Array {
    const at = (abs - 1) * (this.blksize + 4);
    const len = abs === this.blocks ? this.size - (abs - 1) * this.blksize : this.blksize;
    return this.buffer.subarray(at, at + 4 + len);
  }
}

export class ReadTransfer {
  readonly #packets: DataPackets;
  readonly #n: Negotiation;
  readonly #retries: number;
  readonly #blocks: number;
  /** Highest block (absolute, 1-based) the client acknowledged; 0 before the first. */
  #acked = 0;
  #waitingOack: boolean;
  #tries = 0;
  #finished = false;

  /** `data`: the file bytes, or its DATA packets already built for the negotiated block size (shared). */
  constructor(data: Uint8Array | DataPackets, negotiation: Negotiation, limits: TransferLimits = {}) {
    this.#packets = data instanceof DataPackets ? data : DataPackets.build(data, negotiation.blksize);
    if (this.#packets.blksize !== negotiation.blksize) throw new RangeError('DATA packets built for another block size');
    this.#n = negotiation;
    this.#retries = limits.retries ?? 5;
    this.#blocks = this.#packets.blocks;
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

  #window(): Step {
    const send: Uint8Array[] = [];
    const last = Math.min(this.#acked + this.#n.windowsize, this.#blocks);
    for (let b = this.#acked + 1; b <= last; b++) send.push(this.#packets.packet(b));
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
    return this.onAck(p.block);
  }

  /** Same as `onPacket` with an ACK of `block`, without decoding one first (the server's per-packet path). */
  onAck(block: number): Step {
    if (this.#finished) return { send: [] };
    if (this.#waitingOack) {
      if (block !== 0) return { send: [] };
      this.#waitingOack = false;
      this.#tries = 0;
      return this.#window();
    }
    // Map the 16-bit block number onto the absolute one within the window in flight.
    const ahead = (block - (this.#acked & 0xffff) + 0x10000) & 0xffff;
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
