import { describe, expect, it } from 'vitest';
import {
  BOOTP_MIN_SIZE,
  OPT,
  blankMessage,
  decodeDhcp,
  encodeDhcp,
  macOf,
  macToBytes,
  messageTypeOf,
  readClientArch,
  readUserClasses,
  stringOption,
  typeOption,
} from '../../../src/drivers/pxe/index.js';
import { GoughError } from '../../../src/model/index.js';
import { request } from './dhcp-helpers.js';

function raw(options: number[], opts: { file?: number[]; sname?: number[]; cookie?: number } = {}): Uint8Array {
  const b = new Uint8Array(240 + options.length);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  b.set([0x52, 0x54, 0, 0x25, 0, 1], 28);
  if (opts.sname) b.set(opts.sname, 44);
  if (opts.file) b.set(opts.file, 108);
  new DataView(b.buffer).setUint32(236, opts.cookie ?? 0x63825363);
  b.set(options, 240);
  return b;
}

describe('DHCP codec', () => {
  it('round-trips a DISCOVER with header fields and options', () => {
    const m = request('DISCOVER', '52:54:00:25:00:01', {
      giaddr: '10.1.2.3',
      flags: 0x8000,
      vendorClass: 'PXEClient:Arch:00000',
    });
    const bytes = encodeDhcp(m);
    const d = decodeDhcp(bytes);
    expect(d.xid).toBe(0x1234abcd);
    expect(d.giaddr).toBe('10.1.2.3');
    expect(d.flags).toBe(0x8000);
    expect(macOf(d)).toBe('52:54:00:25:00:01');
    expect(messageTypeOf(d)).toBe('DISCOVER');
    expect(new TextDecoder().decode(d.options.get(OPT.vendorClass))).toBe('PXEClient:Arch:00000');
  });

  it('pads every encoded message to 300 bytes and ends options with END', () => {
    const m = blankMessage(2);
    m.options.set(OPT.messageType, typeOption('ACK'));
    const bytes = encodeDhcp(m);
    expect(bytes.length).toBe(BOOTP_MIN_SIZE);
    expect(bytes[240]).toBe(53);
    expect(bytes[243]).toBe(255);
  });

  it('skips PAD options without eating the next byte (node-dhcp defect 9)', () => {
    const d = decodeDhcp(raw([0, 0, 53, 1, 1, 0, 61, 3, 1, 2, 3, 255]));
    expect(messageTypeOf(d)).toBe('DISCOVER');
    expect([...(d.options.get(61) ?? [])]).toEqual([1, 2, 3]);
  });

  it('stops at END and ignores trailing bytes', () => {
    const d = decodeDhcp(raw([53, 1, 3, 255, 99, 200, 1]));
    expect(messageTypeOf(d)).toBe('REQUEST');
    expect(d.options.has(99)).toBe(false);
  });

  it('rejects a missing magic cookie', () => {
    expect(() => decodeDhcp(raw([53, 1, 1, 255], { cookie: 0x01020304 }))).toThrow(/magic cookie/);
  });

  it('rejects short packets, bad op and overrunning options with dhcp-decode', () => {
    for (const bad of [
      new Uint8Array(100),
      (() => {
        const b = raw([53, 1, 1]);
        b[0] = 7;
        return b;
      })(),
      raw([53, 9, 1]),
    ]) {
      try {
        decodeDhcp(bad);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(GoughError);
        expect((e as GoughError).code).toBe('dhcp-decode');
      }
    }
  });

  it('reads options from file and sname when overloaded (option 52)', () => {
    const d = decodeDhcp(
      raw([52, 1, 3, 53, 1, 8, 255], {
        file: [12, 3, 0x61, 0x62, 0x63, 255],
        sname: [50, 4, 10, 0, 0, 9, 255],
      }),
    );
    expect(messageTypeOf(d)).toBe('INFORM');
    expect(new TextDecoder().decode(d.options.get(12))).toBe('abc');
    expect([...(d.options.get(50) ?? [])]).toEqual([10, 0, 0, 9]);
    expect(d.file).toBe('');
    expect(d.sname).toBe('');
  });

  it('keeps file and sname as strings without overload', () => {
    const d = decodeDhcp(raw([53, 1, 1, 255], { file: [0x61, 0x2e, 0x62], sname: [0x73] }));
    expect(d.file).toBe('a.b');
    expect(d.sname).toBe('s');
  });

  it('rejects an invalid overload value', () => {
    expect(() => decodeDhcp(raw([52, 1, 7, 53, 1, 1, 255]))).toThrow(/overload/);
  });

  it('concatenates repeated options and splits long ones (RFC 3396)', () => {
    const d = decodeDhcp(raw([53, 1, 1, 77, 2, 0x69, 0x50, 77, 3, 0x58, 0x45, 0x21, 255]));
    expect(new TextDecoder().decode(d.options.get(77))).toBe('iPXE!');
    const m = blankMessage(2);
    m.options.set(OPT.messageType, typeOption('ACK'));
    m.options.set(43, new Uint8Array(600).fill(7));
    const back = decodeDhcp(encodeDhcp(m));
    expect(back.options.get(43)?.length).toBe(600);
  });

  it('reads user classes raw and RFC 3004 encoded, and the client architecture', () => {
    const a = request('DISCOVER', '52:54:00:00:00:01', {
      userClass: 'iPXE',
      arch: 7,
    });
    expect(readUserClasses(a)).toContain('iPXE');
    expect(readClientArch(a)).toBe(7);
    const b = request('DISCOVER', '52:54:00:00:00:01', {
      extra: [[77, Uint8Array.of(4, 0x69, 0x50, 0x58, 0x45)]],
    });
    expect(readUserClasses(b)).toContain('iPXE');
  });

  it('encodes MACs from and to chaddr', () => {
    expect(macOf({ chaddr: macToBytes('AA-bb-cc-dd-ee-ff'), hlen: 6 })).toBe('aa:bb:cc:dd:ee:ff');
    expect(() => macToBytes('zz:bb')).toThrow(GoughError);
    expect(stringOption('x')[0]).toBe(0x78);
  });
});
