/**
 * RMCP+ cryptography for cipher suites 3 and 17 (IPMI v2.0 §13.28–13.32): RAKP auth codes, session keys,
 * packet integrity (AuthCode trailer) and AES-CBC-128 confidentiality. Pure computation over `node:crypto`;
 * used by the client session and by test BMC responders alike.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { GoughError } from '../../model/index.js';
import { decodeIpmiPacket, encodeRmcpPlusPacket, type RmcpPlusPacket } from './codec.js';

export type CipherSuiteId = 3 | 17;

export type CipherSuite = {
  id: CipherSuiteId;
  /** Algorithm numbers for the Open Session proposal. */
  algorithms: { auth: number; integrity: number; confidentiality: number };
  hash: 'sha1' | 'sha256';
  /** Length of the RAKP 2/3 auth codes (full HMAC). */
  rakpAuthLength: number;
  /** Length of the RAKP 4 integrity check value. */
  rakp4Length: number;
  /** Length of the per-packet AuthCode. */
  integrityLength: number;
};

export const CIPHER_SUITES: Readonly<Record<CipherSuiteId, CipherSuite>> = {
  // RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128
  3: {
    id: 3,
    algorithms: { auth: 0x01, integrity: 0x01, confidentiality: 0x01 },
    hash: 'sha1',
    rakpAuthLength: 20,
    rakp4Length: 12,
    integrityLength: 12,
  },
  // RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128
  17: {
    id: 17,
    algorithms: { auth: 0x03, integrity: 0x04, confidentiality: 0x01 },
    hash: 'sha256',
    rakpAuthLength: 32,
    rakp4Length: 16,
    integrityLength: 16,
  },
};

export function cipherSuite(id: number): CipherSuite {
  if (id !== 3 && id !== 17) throw new GoughError('usage', `Cipher suite "${id}" is not supported: use 3 or 17`);
  return CIPHER_SUITES[id];
}

function hmac(hash: 'sha1' | 'sha256', key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

/** Everything both sides know after RAKP 1 and 2. */
export type RakpContext = {
  consoleSessionId: number;
  managedSessionId: number;
  consoleRandom: Uint8Array;
  managedRandom: Uint8Array;
  managedGuid: Uint8Array;
  /** Role byte of RAKP 1: privilege | 0x10 (name-only lookup). */
  role: number;
  username: Uint8Array;
};

/** RAKP 2 auth code: HMAC(K_uid, SIDc | SIDm | Rc | Rm | GUIDm | role | ulen | user). */
export function rakp2AuthCode(suite: CipherSuite, kuid: Uint8Array, c: RakpContext): Buffer {
  return hmac(
    suite.hash,
    kuid,
    u32(c.consoleSessionId),
    u32(c.managedSessionId),
    c.consoleRandom,
    c.managedRandom,
    c.managedGuid,
    Buffer.from([c.role, c.username.length]),
    c.username,
  );
}

/** RAKP 3 auth code: HMAC(K_uid, Rm | SIDc | role | ulen | user). */
export function rakp3AuthCode(suite: CipherSuite, kuid: Uint8Array, c: RakpContext): Buffer {
  return hmac(suite.hash, kuid, c.managedRandom, u32(c.consoleSessionId), Buffer.from([c.role, c.username.length]), c.username);
}

/** Session Integrity Key: HMAC(K_g or K_uid, Rc | Rm | role | ulen | user). */
export function sessionIntegrityKey(suite: CipherSuite, kg: Uint8Array, c: RakpContext): Buffer {
  return hmac(suite.hash, kg, c.consoleRandom, c.managedRandom, Buffer.from([c.role, c.username.length]), c.username);
}

/** RAKP 4 integrity check value: HMAC(SIK, Rc | SIDm | GUIDm), truncated (12 bytes SHA1, 16 bytes SHA256). */
export function rakp4IntegrityCheck(suite: CipherSuite, sik: Uint8Array, c: RakpContext): Buffer {
  return hmac(suite.hash, sik, c.consoleRandom, u32(c.managedSessionId), c.managedGuid).subarray(0, suite.rakp4Length);
}

export type SessionKeys = { sik: Buffer; k1: Buffer; k2: Buffer; aesKey: Buffer };

/** K1 = HMAC(SIK, 0x01 × 20), K2 = HMAC(SIK, 0x02 × 20), AES key = K2[0..16). */
export function deriveSessionKeys(suite: CipherSuite, kg: Uint8Array, c: RakpContext): SessionKeys {
  const sik = sessionIntegrityKey(suite, kg, c);
  const k1 = hmac(suite.hash, sik, Buffer.alloc(20, 0x01));
  const k2 = hmac(suite.hash, sik, Buffer.alloc(20, 0x02));
  return { sik, k1, k2, aesKey: k2.subarray(0, 16) };
}

/** Constant-time comparison; false for different lengths. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** AES-CBC-128 payload: IV | E(payload | pad 1..n | n), where n pads to a 16-byte block (§13.29). */
export function encryptPayload(aesKey: Uint8Array, iv: Uint8Array, payload: Uint8Array): Buffer {
  const padLen = (16 - ((payload.length + 1) % 16)) % 16;
  const plain = Buffer.alloc(payload.length + padLen + 1);
  plain.set(payload, 0);
  for (let i = 0; i < padLen; i++) plain[payload.length + i] = i + 1;
  plain[plain.length - 1] = padLen;
  const c = createCipheriv('aes-128-cbc', aesKey, iv);
  c.setAutoPadding(false);
  return Buffer.concat([Buffer.from(iv), c.update(plain), c.final()]);
}

export function decryptPayload(aesKey: Uint8Array, wire: Uint8Array): Buffer {
  if (wire.length < 32 || (wire.length - 16) % 16 !== 0) {
    throw new GoughError('ipmi-decode', `Cannot decrypt payload: length ${wire.length} is not IV plus whole AES blocks`);
  }
  const d = createDecipheriv('aes-128-cbc', aesKey, wire.subarray(0, 16));
  d.setAutoPadding(false);
  const plain = Buffer.concat([d.update(wire.subarray(16)), d.final()]);
  const padLen = plain[plain.length - 1]!;
  if (padLen > 15 || padLen + 1 > plain.length) throw new GoughError('ipmi-decode', `Cannot decrypt payload: bad pad length ${padLen}`);
  return plain.subarray(0, plain.length - 1 - padLen);
}

/**
 * Builds an authenticated (and optionally encrypted) session packet: header, payload, integrity pad (0xFF) so that
 * auth type .. next header is a multiple of 4, pad length, next header 0x07, AuthCode = HMAC(K1, those bytes)
 * truncated to the suite's length.
 */
export function sealPacket(
  suite: CipherSuite,
  keys: SessionKeys,
  p: { payloadType: number; sessionId: number; sessionSequence: number; payload: Uint8Array; encrypt: boolean; iv?: Uint8Array },
): Buffer {
  const body = p.encrypt ? encryptPayload(keys.aesKey, p.iv ?? Buffer.alloc(16), p.payload) : Buffer.from(p.payload);
  const bare = encodeRmcpPlusPacket({
    payloadType: p.payloadType,
    encrypted: p.encrypt,
    authenticated: true,
    sessionId: p.sessionId,
    sessionSequence: p.sessionSequence,
    payload: body,
  });
  // bytes covered by the AuthCode start at the auth type (offset 4, after the RMCP header)
  const covered = bare.length - 4;
  const pad = (4 - ((covered + 2) % 4)) % 4;
  const trailer = Buffer.alloc(pad + 2, 0xff);
  trailer[pad] = pad;
  trailer[pad + 1] = 0x07;
  const signed = Buffer.concat([bare, trailer]);
  const code = hmac(suite.hash, keys.k1, signed.subarray(4)).subarray(0, suite.integrityLength);
  return Buffer.concat([signed, code]);
}

/**
 * Checks an authenticated packet's AuthCode and trailer, decrypts its payload, and returns the packet with the
 * plaintext payload. Throws GoughError('ipmi-decode') when anything does not match.
 */
export function openPacket(suite: CipherSuite, keys: SessionKeys, wire: Uint8Array): RmcpPlusPacket {
  const p = decodeIpmiPacket(wire);
  if (p.format !== 'rmcp+') throw new GoughError('ipmi-decode', 'Cannot open session packet: not an RMCP+ packet');
  if (!p.authenticated) throw new GoughError('ipmi-decode', 'Cannot open session packet: not authenticated');
  const n = suite.integrityLength;
  if (p.trailer.length < n + 2) throw new GoughError('ipmi-decode', 'Cannot open session packet: integrity trailer is too short');
  const codeAt = wire.length - n;
  const expected = hmac(suite.hash, keys.k1, wire.subarray(4, codeAt)).subarray(0, n);
  if (!sameBytes(expected, wire.subarray(codeAt))) throw new GoughError('ipmi-decode', 'Cannot open session packet: AuthCode mismatch');
  const padLen = p.trailer[p.trailer.length - n - 2]!;
  const nextHeader = p.trailer[p.trailer.length - n - 1]!;
  if (nextHeader !== 0x07 || padLen !== p.trailer.length - n - 2 || (codeAt - 4) % 4 !== 0) {
    throw new GoughError('ipmi-decode', 'Cannot open session packet: malformed integrity trailer');
  }
  const payload = p.encrypted ? decryptPayload(keys.aesKey, p.payload) : p.payload;
  const { format: _f, ...rest } = p;
  return { ...rest, payload };
}
