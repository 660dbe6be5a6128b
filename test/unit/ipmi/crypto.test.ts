/**
 * Known-answer tests for RMCP+ cryptography. The expected values are computed here independently from the
 * IPMI v2.0 formulas (§13.31 RAKP, §13.32 key generation, §13.28.4 integrity, §13.29 AES-CBC-128) with
 * node:crypto over fixed inputs, then compared with what the client code produces.
 */
import { createCipheriv, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CIPHER_SUITES,
  type RakpContext,
  decryptPayload,
  deriveSessionKeys,
  encryptPayload,
  openPacket,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4IntegrityCheck,
  sealPacket,
} from '../../../src/drivers/ipmi/index.js';
import { GoughError } from '../../../src/model/index.js';

const seq = (n: number, from: number) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));
const le32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const H = (alg: string, key: Buffer, ...parts: Buffer[]) => createHmac(alg, key).update(Buffer.concat(parts)).digest();

const ctx: RakpContext = {
  consoleSessionId: 0x11223344,
  managedSessionId: 0xa0b0c0d0,
  consoleRandom: seq(16, 0x00),
  managedRandom: seq(16, 0x10),
  managedGuid: seq(16, 0x20),
  role: 0x14,
  username: Buffer.from('admin'),
};
const kuid = Buffer.from('secret');
const tail = Buffer.concat([Buffer.from([0x14, 5]), Buffer.from('admin')]);

describe.each([
  { suite: 17 as const, alg: 'sha256', rakp4: 16, icv: 16, authType: 'RAKP-HMAC-SHA256 / HMAC-SHA256-128' },
  { suite: 3 as const, alg: 'sha1', rakp4: 12, icv: 12, authType: 'RAKP-HMAC-SHA1 / HMAC-SHA1-96' },
])('cipher suite $suite ($authType) known answers', ({ suite: id, alg, rakp4, icv }) => {
  const suite = CIPHER_SUITES[id];

  it('RAKP 2 and RAKP 3 auth codes', () => {
    const r2 = H(alg, kuid, le32(ctx.consoleSessionId), le32(ctx.managedSessionId), seq(16, 0), seq(16, 0x10), seq(16, 0x20), tail);
    expect(rakp2AuthCode(suite, kuid, ctx).toString('hex')).toBe(r2.toString('hex'));
    expect(r2.length).toBe(id === 17 ? 32 : 20);
    const r3 = H(alg, kuid, seq(16, 0x10), le32(ctx.consoleSessionId), tail);
    expect(rakp3AuthCode(suite, kuid, ctx).toString('hex')).toBe(r3.toString('hex'));
  });

  it('SIK, K1, K2 and the AES key, without and with K_g', () => {
    for (const kg of [kuid, Buffer.from('bmc-key-0123456789ab')]) {
      const sik = H(alg, kg, seq(16, 0), seq(16, 0x10), tail);
      const k1 = H(alg, sik, Buffer.alloc(20, 1));
      const k2 = H(alg, sik, Buffer.alloc(20, 2));
      const keys = deriveSessionKeys(suite, kg, ctx);
      expect(keys.sik.toString('hex')).toBe(sik.toString('hex'));
      expect(keys.k1.toString('hex')).toBe(k1.toString('hex'));
      expect(keys.k2.toString('hex')).toBe(k2.toString('hex'));
      expect(keys.aesKey.toString('hex')).toBe(k2.subarray(0, 16).toString('hex'));
    }
  });

  it(`RAKP 4 integrity check value is HMAC(SIK, Rc | SIDm | GUID) truncated to ${rakp4} bytes`, () => {
    const sik = H(alg, kuid, seq(16, 0), seq(16, 0x10), tail);
    const want = H(alg, sik, seq(16, 0), le32(ctx.managedSessionId), seq(16, 0x20)).subarray(0, rakp4);
    expect(rakp4IntegrityCheck(suite, sik, ctx).toString('hex')).toBe(want.toString('hex'));
  });

  it('AES-CBC-128 confidentiality with the spec pad (1, 2, … n, n)', () => {
    const keys = deriveSessionKeys(suite, kuid, ctx);
    const iv = seq(16, 0x40);
    const payload = Buffer.from('2018c8810401', 'hex'); // 6 bytes -> pad 9 bytes (01..09) + pad length 09
    const plain = Buffer.concat([payload, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), Buffer.from([9])]);
    const c = createCipheriv('aes-128-cbc', keys.k2.subarray(0, 16), iv);
    c.setAutoPadding(false);
    const want = Buffer.concat([iv, c.update(plain), c.final()]);
    const got = encryptPayload(keys.aesKey, iv, payload);
    expect(got.toString('hex')).toBe(want.toString('hex'));
    expect(decryptPayload(keys.aesKey, got).toString('hex')).toBe(payload.toString('hex'));
    // a 15-byte payload needs no pad bytes, only the pad-length byte 0
    expect(encryptPayload(keys.aesKey, iv, Buffer.alloc(15, 7)).length).toBe(32);
  });

  it(`packet integrity: pad to 4 bytes, pad length, next header 07, AuthCode = HMAC(K1, …)[0:${icv}]`, () => {
    const keys = deriveSessionKeys(suite, kuid, ctx);
    const iv = seq(16, 0x40);
    const message = Buffer.from('2018c881040101', 'hex');
    const sealed = sealPacket(suite, keys, { payloadType: 0, sessionId: ctx.managedSessionId, sessionSequence: 3, payload: message, encrypt: true, iv });
    const body = encryptPayload(keys.aesKey, iv, message);
    const head = Buffer.concat([Buffer.from([0x06, 0x00, 0xff, 0x07, 0x06, 0xc0]), le32(ctx.managedSessionId), le32(3), Buffer.from([body.length, 0])]);
    const covered = head.length - 4 + body.length;
    const pad = (4 - ((covered + 2) % 4)) % 4;
    const trailer = Buffer.concat([Buffer.alloc(pad, 0xff), Buffer.from([pad, 0x07])]);
    const code = H(alg, keys.k1, head.subarray(4), body, trailer).subarray(0, icv);
    expect(sealed.toString('hex')).toBe(Buffer.concat([head, body, trailer, code]).toString('hex'));
    expect((sealed.length - 4 - icv) % 4).toBe(0);

    const opened = openPacket(suite, keys, sealed);
    expect(opened.payload.toString()).toBe(message.toString());
    expect(opened.sessionSequence).toBe(3);
    const tampered = Buffer.from(sealed);
    tampered[20] = (tampered[20]! ^ 1) & 0xff;
    expect(() => openPacket(suite, keys, tampered)).toThrow(GoughError);
    const otherKeys = deriveSessionKeys(suite, Buffer.from('other'), ctx);
    expect(() => openPacket(suite, otherKeys, sealed)).toThrow(/AuthCode mismatch/);
  });
});
