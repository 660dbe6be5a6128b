import { describe, expect, it } from 'vitest';
import { ReadTransfer, decodeTftp, encodeTftp, negotiate } from '../../../src/drivers/pxe/index.js';
import { GoughError } from '../../../src/model/index.js';
import { seededRandom as rng } from '../../support/fuzz.js';

describe('TFTP decoder fuzz (seeded)', () => {
  it('100,000 mutated and random packets: a packet or tftp-decode, never anything else; transfers survive them', () => {
    const rand = rng(0x7f7f);
    const seeds = [
      encodeTftp({
        op: 'RRQ',
        filename: 'undionly.kpxe',
        mode: 'octet',
        options: { blksize: '1432', tsize: '0', windowsize: '8' },
      }),
      encodeTftp({ op: 'ACK', block: 1 }),
      encodeTftp({ op: 'ERROR', code: 0, message: 'x' }),
      encodeTftp({ op: 'OACK', options: { blksize: '512' } }),
    ];
    const t = new ReadTransfer(new Uint8Array(100_000), negotiate({ windowsize: '4' }, 100_000));
    t.start();
    let ok = 0;
    let bad = 0;
    for (let i = 0; i < 100_000; i++) {
      let pkt: Uint8Array;
      if (i % 5 === 0) {
        pkt = new Uint8Array(Math.floor(rand() * 64));
        for (let j = 0; j < pkt.length; j++) pkt[j] = Math.floor(rand() * 256);
      } else {
        const base = seeds[i % seeds.length] as Uint8Array;
        pkt = base.slice(0, rand() < 0.2 ? Math.floor(rand() * base.length) : base.length);
        for (let k = 0; k < 1 + Math.floor(rand() * 4) && pkt.length > 0; k++)
          pkt[Math.floor(rand() * pkt.length)] = Math.floor(rand() * 256);
      }
      try {
        const p = decodeTftp(pkt);
        ok++;
        if (p.op === 'ACK') t.onPacket(p);
        if (p.op === 'RRQ') negotiate(p.options, 1000);
      } catch (e) {
        if (!(e instanceof GoughError) || e.code !== 'tftp-decode') throw e;
        bad++;
      }
    }
    expect(ok + bad).toBe(100_000);
    expect(ok).toBeGreaterThan(5_000);
    expect(bad).toBeGreaterThan(5_000);
  });
});
