/**
 * Decoder fuzzing: 120,000 random and mutated packets (seeded PRNG, reproducible) through every decoder the
 * client runs on bytes from the network. Only GoughError('ipmi-decode') may come out: never another exception,
 * never a hang.
 */
import { describe, expect, it } from 'vitest';
import {
  CIPHER_SUITES,
  PAYLOAD,
  decodeAsf,
  decodeBootOptionsResponse,
  decodeChannelAuthCapabilities,
  decodeChassisStatus,
  decodeDeviceId,
  decodeIpmiPacket,
  decodeIpmiResponse,
  decodeSetupPayload,
  deriveSessionKeys,
  encodeAsf,
  encodeChannelAuthCapRequestData,
  encodeIpmi15Packet,
  encodeIpmiRequest,
  encodeIpmiResponse,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  encodeRmcpPlusPacket,
  openPacket,
  sealPacket,
} from '../../../src/drivers/ipmi/index.js';
import { GoughError } from '../../../src/model/index.js';
import { seededRandom as prng } from '../../support/fuzz.js';

const ctx = {
  consoleSessionId: 1,
  managedSessionId: 2,
  consoleRandom: Buffer.alloc(16, 1),
  managedRandom: Buffer.alloc(16, 2),
  managedGuid: Buffer.alloc(16, 3),
  role: 0x14,
  username: Buffer.from('admin'),
};
const s3 = CIPHER_SUITES[3];
const s17 = CIPHER_SUITES[17];
const k3 = deriveSessionKeys(s3, Buffer.from('secret'), ctx);
const k17 = deriveSessionKeys(s17, Buffer.from('secret'), ctx);

function seeds(): Buffer[] {
  const setup = (t: number, p: Buffer) => encodeRmcpPlusPacket({ payloadType: t, encrypted: false, authenticated: false, sessionId: 0, sessionSequence: 0, payload: p });
  const resp = encodeIpmiResponse({ netFn: 1, command: 1, sequence: 3, completionCode: 0, data: Uint8Array.of(1, 0, 0) });
  return [
    encodeAsf({ kind: 'ping', tag: 1 }),
    encodeAsf({ kind: 'pong', tag: 1, pong: { iana: 4542, oem: 0, entities: 0x81, interactions: 0 } }),
    encodeIpmi15Packet({ authType: 0, sessionSequence: 0, sessionId: 0, message: encodeIpmiRequest({ netFn: 6, command: 0x38, data: encodeChannelAuthCapRequestData(4), sequence: 1 }) }),
    encodeIpmi15Packet({ authType: 0, sessionSequence: 0, sessionId: 0, message: encodeIpmiResponse({ netFn: 7, command: 0x38, sequence: 1, completionCode: 0, data: new Uint8Array(8) }) }),
    setup(PAYLOAD.openSessionResponse, encodeOpenSessionResponse({ tag: 1, status: 0, privilege: 4, consoleSessionId: 1, managedSessionId: 2, algorithms: { auth: 1, integrity: 1, confidentiality: 1 } })),
    setup(PAYLOAD.rakp2, encodeRakp2({ tag: 2, status: 0, consoleSessionId: 1, managedRandom: Buffer.alloc(16), managedGuid: Buffer.alloc(16), authCode: Buffer.alloc(20) })),
    setup(PAYLOAD.rakp4, encodeRakp4({ tag: 3, status: 0, consoleSessionId: 1, integrityCheck: Buffer.alloc(12) })),
    sealPacket(s3, k3, { payloadType: 0, sessionId: 1, sessionSequence: 1, payload: resp, encrypt: true, iv: Buffer.alloc(16, 9) }),
    sealPacket(s17, k17, { payloadType: 0, sessionId: 1, sessionSequence: 1, payload: resp, encrypt: true, iv: Buffer.alloc(16, 9) }),
    sealPacket(s3, k3, { payloadType: 0, sessionId: 1, sessionSequence: 1, payload: resp, encrypt: false }),
  ];
}

/** What the client does with an incoming datagram, in the order it does it (at most one decode error each). */
function decodeAll(b: Buffer, i: number): void {
  try {
    if (b.length >= 4 && (b[3]! & 0x1f) === 0x06) {
      decodeAsf(b);
      return;
    }
    const p = decodeIpmiPacket(b);
    if (p.format === 'ipmi15') {
      decodeChannelAuthCapabilities(decodeIpmiResponse(p.message).data);
    } else if (p.payloadType >= 0x10 && p.payloadType <= 0x15) {
      decodeSetupPayload(p.payloadType, p.payload);
    } else if (p.authenticated) {
      const opened = i % 2 === 0 ? openPacket(s3, k3, b) : openPacket(s17, k17, b);
      const r = decodeIpmiResponse(opened.payload);
      if (r.command === 1) decodeChassisStatus(r.data);
      else if (r.command === 9) decodeBootOptionsResponse(r.data);
      else decodeDeviceId(r.data);
    } else {
      decodeIpmiResponse(p.payload);
    }
  } catch (e) {
    if (!(e instanceof GoughError) || e.code !== 'ipmi-decode') throw new Error(`non-decode error on ${b.toString('hex')}: ${String(e)}`, { cause: e });
  }
}

/** Command data decoders on raw random bytes. */
function decodeData(b: Buffer): void {
  for (const f of [decodeChassisStatus, decodeBootOptionsResponse, decodeDeviceId, decodeChannelAuthCapabilities]) {
    try {
      f(b);
    } catch (e) {
      if (!(e instanceof GoughError) || e.code !== 'ipmi-decode') throw new Error(`non-decode error on ${b.toString('hex')}: ${String(e)}`, { cause: e });
    }
  }
}

describe('IPMI decoder fuzzing', () => {
  it('survives 120,000 random and mutated packets with typed errors only', () => {
    // stack traces play no part in what is asserted; capturing them would dominate the run time
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      fuzz();
    } finally {
      Error.stackTraceLimit = limit;
    }
  });
});

function fuzz(): void {
  {
    const rnd = prng(0x60061);
    const base = seeds();
    const byte = () => Math.floor(rnd() * 256);
    let n = 0;
    const t0 = performance.now();
    // 40,000 purely random datagrams, some with a valid RMCP header to get past the first check
    for (let i = 0; i < 40_000; i++, n++) {
      const len = Math.floor(rnd() * 96);
      const b = Buffer.from(Array.from({ length: len }, byte));
      if (len >= 5 && rnd() < 0.6) {
        b[0] = 0x06;
        b[1] = 0;
        b[2] = 0xff;
        b[3] = rnd() < 0.8 ? 0x07 : 0x06;
        if (rnd() < 0.5) b[4] = 0x06;
      }
      decodeAll(b, i);
      if (i % 8 === 0) decodeData(b);
    }
    // 80,000 mutations of valid packets: byte flips, truncation, extension, length-field tampering
    for (let i = 0; i < 80_000; i++, n++) {
      const src = base[i % base.length]!;
      let b = Buffer.from(src);
      const kind = Math.floor(rnd() * 5);
      if (kind === 0) {
        for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) b[Math.floor(rnd() * b.length)] = byte();
      } else if (kind === 1) {
        b = b.subarray(0, Math.floor(rnd() * b.length));
      } else if (kind === 2) {
        b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, byte))]);
      } else if (kind === 3 && b.length > 16) {
        b[14] = byte();
        b[15] = rnd() < 0.5 ? 0 : byte();
      } else if (b.length > 20) {
        b[b.length - 1 - Math.floor(rnd() * 20)] = byte();
      }
      decodeAll(b, i);
    }
    const ms = performance.now() - t0;
    expect(n).toBe(120_000);
    expect(ms).toBeLessThan(30_000); // a hang would blow this (the real budget is a few seconds)
  }
}
