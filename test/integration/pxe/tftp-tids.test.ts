/**
 * Transfer IDs (RFC 1350 §4): Gough's TFTP server (the build, on 127.0.0.1 and an ephemeral port, on one worker thread
 * and on its own thread) against raw UDP clients that do what real clients and strays on a network do: interleave, send
 * from the wrong port, reuse a port for a new request and refuse the old transfer's packets with ERROR 5.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { type Socket, createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TftpPacket, decodeTftp, encodeTftp } from '../../../src/drivers/pxe/index.js';
import { waitFor } from '../../support/netns.js';
import { type TftpChild, requireBuild, startTftpChild } from './fixture.js';

const W = mkdtempSync(join(tmpdir(), 'gough-tftp-tids-'));
const FILES = join(W, 'root');
const BIG = randomBytes(300 * 1024 + 5);
const SMALL = Buffer.from('a small file\n');
const children: ChildProcess[] = [];
const clients: Socket[] = [];

const startServer = (workers: number): Promise<TftpChild> => startTftpChild(FILES, workers, children);

/** A bare UDP client on 127.0.0.1: every datagram it gets, decoded, with the port it came from. */
class RawClient {
  readonly #sock = createSocket('udp4');
  readonly #queue: { p: TftpPacket; port: number }[] = [];
  #wake: (() => void) | undefined;

  static async open(): Promise<RawClient> {
    const c = new RawClient();
    clients.push(c.#sock);
    c.#sock.on('message', (msg, rinfo) => {
      c.#queue.push({ p: decodeTftp(msg), port: rinfo.port });
      c.#wake?.();
    });
    await new Promise<void>((r) => c.#sock.bind(0, '127.0.0.1', () => r()));
    return c;
  }

  /** Datagrams waiting to be read. */
  get pending(): number {
    return this.#queue.length;
  }

  send(p: TftpPacket, port: number): void {
    this.#sock.send(encodeTftp(p), port, '127.0.0.1');
  }

  /** The next datagram, or undefined after `ms` without one. */
  async next(ms = 3000): Promise<{ p: TftpPacket; port: number } | undefined> {
    const end = Date.now() + ms;
    while (this.#queue.length === 0) {
      const left = end - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = undefined;
    }
    return this.#queue.shift();
  }

  close(): void {
    this.#sock.close();
  }
}

/**
 * Fetches `file` in plain lock-step (512-byte blocks) after sending the RRQ to `port`; `onBlock` runs before each
 * block's ACK. Returns the bytes and the server's TID (the port DATA 1 came from); packets from other ports are left
 * aside in `others`.
 */
async function fetchRaw(
  c: RawClient,
  port: number,
  file: string,
  onBlock?: (block: number, tid: number) => Promise<void>,
  others: { p: TftpPacket; port: number }[] = [],
): Promise<{ data: Buffer; tid: number }> {
  c.send({ op: 'RRQ', filename: file, mode: 'octet', options: {} }, port);
  const chunks: Uint8Array[] = [];
  let tid: number | undefined;
  for (let block = 1; ; block++) {
    let data: Uint8Array | undefined;
    while (data === undefined) {
      const got = await c.next();
      if (got === undefined) throw new Error(`No DATA ${block} of "${file}"`);
      if (tid === undefined && got.p.op === 'DATA' && got.p.block === 1) tid = got.port;
      if (got.port !== tid) others.push(got);
      else if (got.p.op === 'ERROR') throw new Error(`ERROR ${got.p.code} during "${file}": ${got.p.message}`);
      else if (got.p.op === 'DATA' && got.p.block === (block & 0xffff)) data = got.p.data;
    }
    chunks.push(data);
    await onBlock?.(block, tid as number);
    c.send({ op: 'ACK', block: block & 0xffff }, tid as number);
    if (data.length < 512) return { data: Buffer.concat(chunks), tid: tid as number };
  }
}

describe('Gough TFTP transfer IDs: strays, clients on one address, a port reused for a new request', () => {
  beforeAll(() => {
    requireBuild();
    mkdirSync(FILES, { recursive: true });
    writeFileSync(join(FILES, 'big.bin'), BIG);
    writeFileSync(join(FILES, 'small.txt'), SMALL);
  });
  afterAll(() => {
    for (const s of clients) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(W, { recursive: true, force: true });
  });

  for (const workers of [1, 0]) {
    describe(`workers: ${workers}`, () => {
      let s: TftpChild;
      beforeAll(async () => {
        s = await startServer(workers);
      });
      afterAll(() => {
        s.child.kill('SIGTERM');
      });

      it('a stray ACK and DATA from another port do not disturb the transfer: it completes, every block once', async () => {
        const c = await RawClient.open();
        const stray = await RawClient.open();
        const { data } = await fetchRaw(c, s.port, 'big.bin', async (block, tid) => {
          if (block !== 3) return;
          // Were these taken as the client's, ACK 3 would skip ahead and the DATA would end the transfer.
          stray.send({ op: 'ACK', block: 3 }, tid);
          stray.send({ op: 'DATA', block: 1, data: new Uint8Array(10) }, tid);
          stray.send({ op: 'ACK', block: 4 }, tid);
          await new Promise((r) => setTimeout(r, 100));
        });
        expect(data.equals(BIG)).toBe(true);
        // Nothing for the stray but, at most, ERROR 5 (unknown transfer ID); no DATA.
        for (let got = await stray.next(200); got !== undefined; got = await stray.next(200)) {
          expect(got.p).toMatchObject({ op: 'ERROR', code: 5 });
        }
        // The client got every block, in order, once: nothing more comes.
        expect(await c.next(300)).toBeUndefined();
        await waitFor('the tftp-fetch event', 3000, () =>
          s.events().some((e) => e.kind === 'tftp-fetch' && e.bytes === BIG.length),
        );
        expect(s.events().filter((e) => e.kind === 'tftp-error')).toEqual([]);
      });

      it('two clients on the same address, different ports, interleaved: both byte-identical', async () => {
        const [a, b] = await Promise.all([RawClient.open(), RawClient.open()]);
        const [ra, rb] = await Promise.all([fetchRaw(a, s.port, 'big.bin'), fetchRaw(b, s.port, 'big.bin')]);
        expect(ra.data.equals(BIG)).toBe(true);
        expect(rb.data.equals(BIG)).toBe(true);
        expect(ra.tid).not.toBe(s.port);
        expect(rb.tid).not.toBe(s.port);
      });

      it('a client that reuses its port for a new request gets the new file; its ERROR 5 ends the old transfer', async () => {
        const c = await RawClient.open();
        c.send({ op: 'RRQ', filename: 'big.bin', mode: 'octet', options: { timeout: '1' } }, s.port);
        const first = await c.next();
        expect(first?.p).toMatchObject({ op: 'OACK' });
        const old = first?.port as number;
        // No ACK 0: the big transfer waits, and the same port asks for another file.
        const others: { p: TftpPacket; port: number }[] = [];
        const second = await fetchRaw(c, s.port, 'small.txt', undefined, others);
        expect(second.data.equals(SMALL)).toBe(true);
        // The old transfer's next packet (its OACK again, 1 s on) is refused as a client does (RFC 1350 §4).
        const again = others.shift() ?? (await c.next(2500));
        expect(again).toMatchObject({ p: { op: 'OACK' }, port: old });
        c.send({ op: 'ERROR', code: 5, message: 'Unknown transfer ID' }, old);
        const events = await waitFor('both transfers’ events', 3000, () => {
          const e = s.events().filter((x) => x.file === 'big.bin' || x.file === 'small.txt');
          return e.some((x) => x.kind === 'tftp-error' && x.file === 'big.bin') &&
            e.some((x) => x.kind === 'tftp-fetch' && x.file === 'small.txt')
            ? e
            : undefined;
        });
        expect(events.find((x) => x.kind === 'tftp-error')).toMatchObject({
          file: 'big.bin',
          reason: 'client aborted: Unknown transfer ID',
        });
        // Nothing more from either transfer.
        expect(await c.next(1500)).toBeUndefined();
        expect(c.pending).toBe(0);
      });
    });
  }
});
