import { describe, expect, it } from 'vitest';
import { DhcpResponder, decodeDhcp, encodeDhcp } from '../../../src/drivers/pxe/index.js';
import { GoughError } from '../../../src/model/index.js';
import { request } from './dhcp-helpers.js';
import { seededRandom as rng } from '../../support/fuzz.js';

describe('DHCP decoder fuzz (seeded)', () => {
  it('100,000 mutated and random packets: decode returns a message or throws dhcp-decode, never anything else', () => {
    const rand = rng(0x67006);
    const seeds = [
      encodeDhcp(
        request('DISCOVER', '52:54:00:25:00:01', {
          vendorClass: 'PXEClient:Arch:00000',
          userClass: 'iPXE',
          arch: 7,
        }),
      ),
      encodeDhcp(
        request('REQUEST', '52:54:00:25:00:03', {
          serverId: '10.250.0.1',
          requested: '10.250.0.100',
        }),
      ),
      encodeDhcp(
        request('INFORM', '52:54:00:25:00:01', {
          ciaddr: '10.250.0.11',
          extra: [[52, Uint8Array.of(3)]],
        }),
      ),
    ];
    const responder = new DhcpResponder({
      mode: 'dhcp',
      serverId: '10.250.0.1',
      subnet: '10.250.0.0/24',
      range: { start: '10.250.0.100', end: '10.250.0.200' },
      httpPort: 8080,
      discover: true,
      hosts: [
        {
          host: 'n01',
          mac: '52:54:00:25:00:01',
          hostname: 'n01',
          address: '10.250.0.11',
          firmware: 'bios',
          arch: 'amd64',
        },
      ],
    });
    let decoded = 0;
    let rejected = 0;
    for (let i = 0; i < 100_000; i++) {
      let pkt: Uint8Array;
      if (i % 10 === 0) {
        pkt = new Uint8Array(Math.floor(rand() * 600));
        for (let j = 0; j < pkt.length; j++) pkt[j] = Math.floor(rand() * 256);
        if (rand() < 0.7 && pkt.length > 240) {
          pkt.set([1, 1, 6], 0);
          pkt.set([0x63, 0x82, 0x53, 0x63], 236);
        }
      } else {
        const base = seeds[i % seeds.length] as Uint8Array;
        const len = rand() < 0.2 ? Math.floor(rand() * base.length) : base.length;
        pkt = base.slice(0, len);
        const flips = 1 + Math.floor(rand() * 8);
        for (let k = 0; k < flips && pkt.length > 0; k++) {
          const at =
            rand() < 0.8 ? 236 + Math.floor(rand() * Math.max(1, pkt.length - 236)) : Math.floor(rand() * pkt.length);
          pkt[Math.min(at, pkt.length - 1)] = Math.floor(rand() * 256);
        }
      }
      try {
        const m = decodeDhcp(pkt);
        decoded++;
        // The responder must cope with whatever decodes.
        responder.respond(m, { now: 1_700_000_000_000 + i, port: 67 });
      } catch (e) {
        if (!(e instanceof GoughError) || e.code !== 'dhcp-decode') throw e;
        rejected++;
      }
    }
    expect(decoded + rejected).toBe(100_000);
    expect(decoded).toBeGreaterThan(10_000);
    expect(rejected).toBeGreaterThan(1_000);
  });
});
