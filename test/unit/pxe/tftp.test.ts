import { describe, expect, it } from 'vitest';
import {
  DataPackets,
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

describe('TFTP DATA packets built once per file and block size', () => {
  const file = Uint8Array.from({ length: 1300 }, (_, i) => (i * 7) & 255);
  it('are the encoded DATA packets, the last one short (empty when the size is a multiple)', () => {
    const p = DataPackets.build(file, 512);
    expect(p.blocks).toBe(3);
    expect(p.buffer.length).toBe(DataPackets.bytes(1300, 512));
    for (let b = 1; b <= 3; b++) {
      const data = file.subarray((b - 1) * 512, Math.min(b * 512, 1300));
      expect(p.packet(b)).toEqual(encodeTftp({ op: 'DATA', block: b, data }));
    }
    const even = DataPackets.build(file.subarray(0, 1024), 512);
    expect(even.blocks).toBe(3);
    expect(even.packet(3)).toEqual(encodeTftp({ op: 'DATA', block: 3, data: new Uint8Array(0) }));
    expect(DataPackets.build(new Uint8Array(0), 512).packet(1)).toEqual(Uint8Array.of(0, 3, 0, 1));
  });
  it('carry 16-bit block numbers past 65535', () => {
    const p = DataPackets.build(new Uint8Array(8 * 65_537), 8);
    expect([...p.packet(65_535).subarray(0, 4)]).toEqual([0, 3, 255, 255]);
    expect([...p.packet(65_536).subarray(0, 4)]).toEqual([0, 3, 0, 0]);
    expect([...p.packet(65_538).subarray(0, 4)]).toEqual([0, 3, 0, 2]);
    expect(p.packet(65_538).length).toBe(4);
  });
  it('can live in shared memory and be rebuilt from it elsewhere (how worker threads get them)', () => {
    const p = DataPackets.build(file, 1000, (n) => new Uint8Array(new SharedArrayBuffer(n)));
    expect(p.buffer.buffer).toBeInstanceOf(SharedArrayBuffer);
    const q = new DataPackets({ buffer: p.buffer, size: 1300, blksize: 1000 });
    expect(q.packet(2)).toEqual(encodeTftp({ op: 'DATA', block: 2, data: file.subarray(1000) }));
    expect(() => new DataPackets({ buffer: p.buffer, size: 1300, blksize: 512 })).toThrow(RangeError);
  });
  it('a transfer over shared packets sends the same as one over the bytes; other block sizes are refused', () => {
    const n = negotiate({ blksize: '1000', windowsize: '2' }, 1300);
    const a = new ReadTransfer(file, n);
    const b = new ReadTransfer(DataPackets.build(file, 1000), n);
    expect(b.start()).toEqual(a.start());
    expect(b.onAck(0)).toEqual(a.onPacket(ack(0)));
    expect(b.onAck(1)).toEqual(a.onPacket(ack(1)));
    expect(b.onAck(2)).toEqual(a.onPacket(ack(2)));
    expect(() => new ReadTransfer(DataPackets.build(file, 512), n)).toThrow(RangeError);
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
