import { describe, expect, it } from 'vitest';
import {
  ReadTransfer,
  decodeTftp,
  encodeTftp,
  negotiate,
  safeRelative,
  toNetascii,
} from '../../../src/drivers/pxe/index.js';
import { GoughError } from '../../../src/model/index.js';

const enc = (s: string) => new TextEncoder().encode(s);
const ack = (block: number) => decodeTftp(encodeTftp({ op: 'ACK', block }));

function data(bytes: Uint8Array[]): { block: number; len: number }[] {
  return bytes.map((b) => {
    const p = decodeTftp(b);
    if (p.op !== 'DATA') throw new Error(`expected DATA, got ${p.op}`);
    return { block: p.block, len: p.data.length };
  });
}

describe('TFTP codec', () => {
  it('decodes an RRQ with options (names lower-cased)', () => {
    const b = Uint8Array.from([0, 1, ...enc('undionly.kpxe\0octet\0BLKSIZE\x001432\0tsize\x000\0')]);
    expect(decodeTftp(b)).toEqual({
      op: 'RRQ',
      filename: 'undionly.kpxe',
      mode: 'octet',
      options: { blksize: '1432', tsize: '0' },
    });
  });
  it('round-trips every packet kind', () => {
    for (const p of [
      {
        op: 'RRQ',
        filename: 'a/b',
        mode: 'netascii',
        options: { windowsize: '8' },
      },
      { op: 'WRQ', filename: 'x', mode: 'octet', options: {} },
      { op: 'DATA', block: 65535, data: Uint8Array.of(1, 2, 3) },
      { op: 'ACK', block: 7 },
      { op: 'ERROR', code: 1, message: 'File not found' },
      { op: 'OACK', options: { blksize: '1468', tsize: '10' } },
    ] as const) {
      expect(decodeTftp(encodeTftp(p))).toEqual(p);
    }
  });
  it('rejects malformed packets with tftp-decode', () => {
    for (const b of [
      Uint8Array.of(0),
      Uint8Array.of(0, 9),
      Uint8Array.from([0, 1, ...enc('file')]),
      Uint8Array.from([0, 1, ...enc('file\0octet\0blksize\0')]),
      Uint8Array.from([0, 1, 0, ...enc('octet\0')]),
      Uint8Array.of(0, 4, 0),
      Uint8Array.from([0, 1, ...enc('a\0octet\0x\x001\0X\x002\0')]),
      Uint8Array.from([0, 1, 0xc3, 0xa9, 0, ...enc('octet\0')]),
    ]) {
      expect(() => decodeTftp(b)).toThrow(GoughError);
    }
  });
});

describe('TFTP option negotiation', () => {
  it('grants blksize, tsize, timeout, windowsize within limits', () => {
    expect(
      negotiate({ blksize: '9000', tsize: '0', timeout: '3', windowsize: '64' }, 1234, {
        maxBlksize: 1468,
        maxWindow: 16,
      }),
    ).toEqual({
      blksize: 1468,
      windowsize: 16,
      timeoutMs: 3000,
      oack: { blksize: '1468', tsize: '1234', timeout: '3', windowsize: '16' },
    });
  });
  it('ignores out-of-range and unknown options; none means no OACK', () => {
    expect(negotiate({ blksize: '4', timeout: '0', windowsize: '0', multicast: '' }, 10)).toEqual({
      blksize: 512,
      windowsize: 1,
      timeoutMs: 1000,
      oack: {},
    });
  });
});

describe('TFTP read transfer', () => {
  it('plain lock-step transfer ends with a short block (an empty one when the size is a multiple)', () => {
    const t = new ReadTransfer(new Uint8Array(1024), negotiate({}, 1024));
    expect(data(t.start().send)).toEqual([{ block: 1, len: 512 }]);
    expect(data(t.onPacket(ack(1)).send)).toEqual([{ block: 2, len: 512 }]);
    expect(data(t.onPacket(ack(2)).send)).toEqual([{ block: 3, len: 0 }]);
    expect(t.onPacket(ack(3)).done).toEqual({ ok: true, reason: 'complete' });
  });
  it('sends an OACK first and data after ACK 0', () => {
    const t = new ReadTransfer(new Uint8Array(3000), negotiate({ blksize: '1000', windowsize: '2' }, 3000));
    const first = decodeTftp(t.start().send[0] as Uint8Array);
    expect(first).toEqual({
      op: 'OACK',
      options: { blksize: '1000', windowsize: '2' },
    });
    expect(data(t.onPacket(ack(0)).send)).toEqual([
      { block: 1, len: 1000 },
      { block: 2, len: 1000 },
    ]);
    // A partial-window ACK resends from the block after it (RFC 7440).
    expect(data(t.onPacket(ack(1)).send)).toEqual([
      { block: 2, len: 1000 },
      { block: 3, len: 1000 },
    ]);
    expect(data(t.onPacket(ack(3)).send)).toEqual([{ block: 4, len: 0 }]);
    expect(t.onPacket(ack(4)).done?.ok).toBe(true);
  });
  it('ignores duplicate ACKs (no Sorcerer’s Apprentice) and retransmits on timeout, then gives up', () => {
    const t = new ReadTransfer(new Uint8Array(2000), negotiate({}, 2000), {
      retries: 2,
    });
    t.start();
    expect(data(t.onPacket(ack(1)).send)).toEqual([{ block: 2, len: 512 }]);
    expect(t.onPacket(ack(1)).send).toEqual([]);
    expect(data(t.onTimeout().send)).toEqual([{ block: 2, len: 512 }]);
    expect(data(t.onTimeout().send)).toEqual([{ block: 2, len: 512 }]);
    expect(t.onTimeout().done).toEqual({
      ok: false,
      reason: 'no acknowledgement after 2 retransmissions',
    });
  });
  it('rolls block numbers over past 65535', () => {
    const size = 8 * 70_000;
    const t = new ReadTransfer(new Uint8Array(size), negotiate({ blksize: '8', windowsize: '4' }, size));
    t.start();
    let step = t.onPacket(ack(0));
    let acked = 0;
    while (step.done === undefined) {
      const blocks = data(step.send);
      const last = blocks[blocks.length - 1];
      if (last === undefined) throw new Error('stalled');
      acked += blocks.length;
      step = t.onPacket(ack(last.block));
    }
    expect(step.done.ok).toBe(true);
    expect(acked).toBe(70_001);
  });
  it('stops when the client sends an ERROR', () => {
    const t = new ReadTransfer(new Uint8Array(10), negotiate({}, 10));
    t.start();
    expect(t.onPacket({ op: 'ERROR', code: 0, message: 'cancelled' }).done).toEqual({
      ok: false,
      reason: 'client aborted: cancelled',
    });
  });
  it('converts netascii line ends', () => {
    expect([...toNetascii(enc('a\nb\r'))]).toEqual([97, 13, 10, 98, 13, 0]);
  });
});

describe('root jail names', () => {
  it('refuses traversal and control characters, normalizes slashes', () => {
    expect(safeRelative('/undionly.kpxe')).toBe('undionly.kpxe');
    expect(safeRelative('sub\\file')).toBe('sub/file');
    expect(safeRelative('./a//b')).toBe('a/b');
    for (const bad of ['../etc/passwd', 'sub/../../etc/passwd', '..', '', 'a\0b', '/'])
      expect(safeRelative(bad)).toBeUndefined();
  });
});
