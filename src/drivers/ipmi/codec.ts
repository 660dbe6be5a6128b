/**
 * IPMI / RMCP / RMCP+ wire codec: bytes ⇄ typed messages, both directions (client requests and BMC replies),
 * so tests can build BMC answers with the same code. Pure: no sockets, no clock. Every decoder either returns a
 * typed value or throws `GoughError('ipmi-decode')`.
 *
 * References: IPMI v2.0 rev 1.1 §13 (LAN interface: RMCP, ASF, session headers, RMCP+ payloads), §22.13
 * (Get Channel Authentication Capabilities), §28 (chassis commands).
 */
import { GoughError } from '../../model/index.js';

// ---------------------------------------------------------------------------------------------
// Constants

export const RMCP_VERSION = 0x06;
export const RMCP_CLASS_ASF = 0x06;
export const RMCP_CLASS_IPMI = 0x07;
export const ASF_IANA = 4542;
export const ASF_PING = 0x80;
export const ASF_PONG = 0x40;

export const AUTH_TYPE_NONE = 0x00;
export const AUTH_TYPE_RMCP_PLUS = 0x06;

/** RMCP+ payload types (§13.27.3). */
export const PAYLOAD = {
  ipmi: 0x00,
  sol: 0x01,
  oem: 0x02,
  openSessionRequest: 0x10,
  openSessionResponse: 0x11,
  rakp1: 0x12,
  rakp2: 0x13,
  rakp3: 0x14,
  rakp4: 0x15,
} as const;

export const PRIVILEGE = { callback: 1, user: 2, operator: 3, administrator: 4, oem: 5 } as const;
export type PrivilegeLevel = 0 | 1 | 2 | 3 | 4 | 5;

export const BMC_ADDRESS = 0x20;
export const SOFTWARE_ID = 0x81;

/** Network functions (requests; the response netFn is request + 1). */
export const NETFN = { chassis: 0x00, app: 0x06 } as const;

/** Completion codes (§5.2 table 5-2) with readable names. */
export const COMPLETION_CODES: ReadonlyMap<number, string> = new Map([
  [0x00, 'Command completed normally'],
  [0xc0, 'Node busy'],
  [0xc1, 'Invalid command'],
  [0xc2, 'Command invalid for given LUN'],
  [0xc3, 'Timeout while processing command'],
  [0xc4, 'Out of space'],
  [0xc5, 'Reservation cancelled or invalid reservation ID'],
  [0xc6, 'Request data truncated'],
  [0xc7, 'Request data length invalid'],
  [0xc8, 'Request data field length limit exceeded'],
  [0xc9, 'Parameter out of range'],
  [0xca, 'Cannot return number of requested data bytes'],
  [0xcb, 'Requested sensor, data, or record not present'],
  [0xcc, 'Invalid data field in request'],
  [0xcd, 'Command illegal for specified sensor or record type'],
  [0xce, 'Command response could not be provided'],
  [0xcf, 'Cannot execute duplicated request'],
  [0xd0, 'SDR repository in update mode'],
  [0xd1, 'Device in firmware update mode'],
  [0xd2, 'BMC initialization or initialization agent in progress'],
  [0xd3, 'Destination unavailable'],
  [0xd4, 'Insufficient privilege level'],
  [0xd5, 'Command not supported in present state'],
  [0xd6, 'Sub-function disabled or unavailable'],
  [0xff, 'Unspecified error'],
]);

/** Readable name of a completion code; 0x80–0xBE are command-specific. */
export function completionCodeName(cc: number): string {
  const known = COMPLETION_CODES.get(cc);
  if (known) return known;
  if (cc >= 0x01 && cc <= 0x7e) return 'Device-specific (OEM) completion code';
  if (cc >= 0x80 && cc <= 0xbe) return 'Command-specific completion code';
  return 'Unknown completion code';
}

/** RMCP+ and RAKP message status codes (§13.24 table 13-15). */
export const RMCP_STATUS_CODES: ReadonlyMap<number, string> = new Map([
  [0x00, 'No errors'],
  [0x01, 'Insufficient resources to create a session'],
  [0x02, 'Invalid session ID'],
  [0x03, 'Invalid payload type'],
  [0x04, 'Invalid authentication algorithm'],
  [0x05, 'Invalid integrity algorithm'],
  [0x06, 'No matching authentication payload'],
  [0x07, 'No matching integrity payload'],
  [0x08, 'Inactive session ID'],
  [0x09, 'Invalid role'],
  [0x0a, 'Unauthorized role or privilege level requested'],
  [0x0b, 'Insufficient resources to create a session at the requested role'],
  [0x0c, 'Invalid name length'],
  [0x0d, 'Unauthorized name'],
  [0x0e, 'Unauthorized GUID'],
  [0x0f, 'Invalid integrity check value'],
  [0x10, 'Invalid confidentiality algorithm'],
  [0x11, 'No cipher suite match with proposed security algorithms'],
  [0x12, 'Illegal or unrecognized parameter'],
]);

export function rmcpStatusName(status: number): string {
  return RMCP_STATUS_CODES.get(status) ?? 'Unknown status code';
}

// ---------------------------------------------------------------------------------------------
// Helpers

function fail(message: string): never {
  throw new GoughError('ipmi-decode', message);
}

function need(buf: Uint8Array, len: number, what: string): void {
  if (buf.length < len) fail(`Cannot decode ${what}: ${buf.length} bytes, need at least ${len}`);
}

function u32le(buf: Uint8Array, off: number): number {
  return ((buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16)) >>> 0) + buf[off + 3]! * 0x1000000;
}

function putU32le(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v >>> 0, off);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

/** Two's-complement 8-bit checksum: the bytes plus the checksum sum to 0 mod 256. */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + bytes[i]!) & 0xff;
  return (0x100 - sum) & 0xff;
}

// ---------------------------------------------------------------------------------------------
// RMCP header and ASF presence ping / pong

export type RmcpHeader = { version: number; sequence: number; class: number };

export function encodeRmcpHeader(cls: number, sequence = 0xff): Buffer {
  return Buffer.from([RMCP_VERSION, 0x00, sequence & 0xff, cls & 0xff]);
}

export function decodeRmcpHeader(buf: Uint8Array): RmcpHeader {
  need(buf, 4, 'RMCP header');
  if (buf[0] !== RMCP_VERSION) fail(`Cannot decode RMCP header: version ${hex(buf[0]!)} is not 0x06`);
  const cls = buf[3]! & 0x1f;
  if (cls !== RMCP_CLASS_ASF && cls !== RMCP_CLASS_IPMI) fail(`Cannot decode RMCP header: unknown class ${hex(buf[3]!)}`);
  return { version: buf[0]!, sequence: buf[2]!, class: cls };
}

export type AsfPong = {
  iana: number;
  oem: number;
  /** Bit 7: IPMI supported. */
  entities: number;
  interactions: number;
};

export type AsfMessage = { kind: 'ping'; tag: number } | { kind: 'pong'; tag: number; pong: AsfPong };

export function encodeAsf(msg: AsfMessage): Buffer {
  const body = msg.kind === 'ping' ? Buffer.alloc(0) : Buffer.alloc(16);
  if (msg.kind === 'pong') {
    body.writeUInt32BE(msg.pong.iana >>> 0, 0);
    body.writeUInt32BE(msg.pong.oem >>> 0, 4);
    body[8] = msg.pong.entities & 0xff;
    body[9] = msg.pong.interactions & 0xff;
  }
  const head = Buffer.alloc(8);
  head.writeUInt32BE(ASF_IANA, 0);
  head[4] = msg.kind === 'ping' ? ASF_PING : ASF_PONG;
  head[5] = msg.tag & 0xff;
  head[6] = 0;
  head[7] = body.length;
  return Buffer.concat([encodeRmcpHeader(RMCP_CLASS_ASF), head, body]);
}

export function decodeAsf(buf: Uint8Array): AsfMessage {
  const h = decodeRmcpHeader(buf);
  if (h.class !== RMCP_CLASS_ASF) fail('Cannot decode ASF message: RMCP class is not ASF');
  need(buf, 12, 'ASF message');
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const iana = b.readUInt32BE(4);
  if (iana !== ASF_IANA) fail(`Cannot decode ASF message: IANA ${iana} is not 4542`);
  const type = b[8]!;
  const tag = b[9]!;
  const len = b[11]!;
  need(buf, 12 + len, 'ASF message body');
  if (type === ASF_PING) return { kind: 'ping', tag };
  if (type === ASF_PONG) {
    if (len < 10) fail(`Cannot decode ASF pong: data length ${len} is below 10`);
    return {
      kind: 'pong',
      tag,
      pong: { iana: b.readUInt32BE(12), oem: b.readUInt32BE(16), entities: b[20]!, interactions: b[21]! },
    };
  }
  return fail(`Cannot decode ASF message: unknown type ${hex(type)}`);
}

// ---------------------------------------------------------------------------------------------
// IPMI messages (LAN format, §13.8): rsAddr, netFn/rsLUN, chk1, rqAddr, rqSeq/rqLUN, cmd, data, chk2

export type IpmiMessage = {
  /** Responder address for a request; requester address for a response. */
  targetAddress: number;
  netFn: number;
  targetLun: number;
  sourceAddress: number;
  /** 6-bit requester sequence number. */
  sequence: number;
  sourceLun: number;
  command: number;
  /** For a response, data[0] is the completion code (see `decodeIpmiResponse`). */
  data: Uint8Array;
};

export function encodeIpmiMessage(m: IpmiMessage): Buffer {
  const out = Buffer.alloc(7 + m.data.length);
  out[0] = m.targetAddress & 0xff;
  out[1] = ((m.netFn & 0x3f) << 2) | (m.targetLun & 0x03);
  out[2] = checksum(out, 0, 2);
  out[3] = m.sourceAddress & 0xff;
  out[4] = ((m.sequence & 0x3f) << 2) | (m.sourceLun & 0x03);
  out[5] = m.command & 0xff;
  out.set(m.data, 6);
  out[out.length - 1] = checksum(out, 3, out.length - 1);
  return out;
}

export function decodeIpmiMessage(buf: Uint8Array): IpmiMessage {
  need(buf, 7, 'IPMI message');
  if (checksum(buf, 0, 2) !== buf[2]) fail('Cannot decode IPMI message: header checksum mismatch');
  if (checksum(buf, 3, buf.length - 1) !== buf[buf.length - 1]) fail('Cannot decode IPMI message: data checksum mismatch');
  return {
    targetAddress: buf[0]!,
    netFn: buf[1]! >> 2,
    targetLun: buf[1]! & 3,
    sourceAddress: buf[3]!,
    sequence: buf[4]! >> 2,
    sourceLun: buf[4]! & 3,
    command: buf[5]!,
    data: Uint8Array.prototype.slice.call(buf, 6, buf.length - 1),
  };
}

export type IpmiRequest = { netFn: number; command: number; data: Uint8Array; sequence: number };
export type IpmiResponse = { netFn: number; command: number; sequence: number; completionCode: number; data: Uint8Array };

/** A request from the remote console (software ID 0x81) to the BMC (0x20). */
export function encodeIpmiRequest(r: IpmiRequest): Buffer {
  return encodeIpmiMessage({
    targetAddress: BMC_ADDRESS,
    netFn: r.netFn,
    targetLun: 0,
    sourceAddress: SOFTWARE_ID,
    sequence: r.sequence,
    sourceLun: 0,
    command: r.command,
    data: r.data,
  });
}

export function decodeIpmiRequest(buf: Uint8Array): IpmiRequest {
  const m = decodeIpmiMessage(buf);
  if (m.netFn % 2 !== 0) fail(`Cannot decode IPMI request: netFn ${hex(m.netFn)} is a response`);
  return { netFn: m.netFn, command: m.command, data: m.data, sequence: m.sequence };
}

/** A response from the BMC to the remote console, as a BMC would build it. */
export function encodeIpmiResponse(r: IpmiResponse): Buffer {
  const data = new Uint8Array(1 + r.data.length);
  data[0] = r.completionCode & 0xff;
  data.set(r.data, 1);
  return encodeIpmiMessage({
    targetAddress: SOFTWARE_ID,
    netFn: r.netFn,
    targetLun: 0,
    sourceAddress: BMC_ADDRESS,
    sequence: r.sequence,
    sourceLun: 0,
    command: r.command,
    data,
  });
}

export function decodeIpmiResponse(buf: Uint8Array): IpmiResponse {
  const m = decodeIpmiMessage(buf);
  if (m.netFn % 2 !== 1) fail(`Cannot decode IPMI response: netFn ${hex(m.netFn)} is a request`);
  if (m.data.length < 1) fail('Cannot decode IPMI response: no completion code');
  return { netFn: m.netFn, command: m.command, sequence: m.sequence, completionCode: m.data[0]!, data: m.data.slice(1) };
}

// ---------------------------------------------------------------------------------------------
// IPMI 1.5 session wrapper (only session-less, auth type none, is used: Get Channel Auth Capabilities)

export type Ipmi15Packet = {
  authType: number;
  sessionSequence: number;
  sessionId: number;
  authCode?: Uint8Array;
  message: Uint8Array;
};

export function encodeIpmi15Packet(p: Ipmi15Packet): Buffer {
  const hasCode = p.authType !== AUTH_TYPE_NONE;
  const head = Buffer.alloc(9 + (hasCode ? 16 : 0) + 1);
  head[0] = p.authType;
  putU32le(head, 1, p.sessionSequence);
  putU32le(head, 5, p.sessionId);
  if (hasCode) head.set((p.authCode ?? new Uint8Array(16)).subarray(0, 16), 9);
  head[head.length - 1] = p.message.length;
  return Buffer.concat([encodeRmcpHeader(RMCP_CLASS_IPMI), head, p.message]);
}

// ---------------------------------------------------------------------------------------------
// IPMI 2.0 / RMCP+ session wrapper (§13.6)

export type RmcpPlusPacket = {
  payloadType: number;
  encrypted: boolean;
  authenticated: boolean;
  sessionId: number;
  sessionSequence: number;
  /** Payload bytes as on the wire (for an encrypted payload: IV + ciphertext). */
  payload: Uint8Array;
  /** Bytes after the payload: integrity pad, pad length, next header, AuthCode (authenticated packets). */
  trailer: Uint8Array;
};

/** Encodes the packet without an integrity trailer (the session layer adds it; see `crypto.ts`). */
export function encodeRmcpPlusPacket(p: Omit<RmcpPlusPacket, 'trailer'> & { trailer?: Uint8Array }): Buffer {
  if (p.payloadType === PAYLOAD.oem) throw new GoughError('internal', 'OEM payloads are not supported');
  if (p.payload.length > 0xffff) throw new GoughError('internal', 'RMCP+ payload is too long');
  const head = Buffer.alloc(12);
  head[0] = AUTH_TYPE_RMCP_PLUS;
  head[1] = (p.payloadType & 0x3f) | (p.encrypted ? 0x80 : 0) | (p.authenticated ? 0x40 : 0);
  putU32le(head, 2, p.sessionId);
  putU32le(head, 6, p.sessionSequence);
  head.writeUInt16LE(p.payload.length, 10);
  return Buffer.concat([encodeRmcpHeader(RMCP_CLASS_IPMI), head, p.payload, p.trailer ?? new Uint8Array(0)]);
}

/** Any IPMI-class packet: the 1.5 (session-less) format or RMCP+. */
export type IpmiPacket = ({ format: 'ipmi15' } & Ipmi15Packet) | ({ format: 'rmcp+' } & RmcpPlusPacket);

export function decodeIpmiPacket(buf: Uint8Array): IpmiPacket {
  const h = decodeRmcpHeader(buf);
  if (h.class !== RMCP_CLASS_IPMI) fail('Cannot decode IPMI packet: RMCP class is not IPMI');
  need(buf, 5, 'IPMI session header');
  const authType = buf[4]! & 0x0f;
  if (authType === AUTH_TYPE_RMCP_PLUS) {
    need(buf, 16, 'RMCP+ session header');
    const type = buf[5]!;
    const payloadType = type & 0x3f;
    if (payloadType === PAYLOAD.oem) fail('Cannot decode RMCP+ packet: OEM payloads are not supported');
    const len = buf[14]! | (buf[15]! << 8);
    need(buf, 16 + len, 'RMCP+ payload');
    return {
      format: 'rmcp+',
      payloadType,
      encrypted: (type & 0x80) !== 0,
      authenticated: (type & 0x40) !== 0,
      sessionId: u32le(buf, 6),
      sessionSequence: u32le(buf, 10),
      payload: buf.slice(16, 16 + len),
      trailer: buf.slice(16 + len),
    };
  }
  if (authType > 0x05 || authType === 0x03) fail(`Cannot decode IPMI session header: unknown auth type ${hex(authType)}`);
  const hasCode = authType !== AUTH_TYPE_NONE;
  const lenAt = 13 + (hasCode ? 16 : 0);
  need(buf, lenAt + 1, 'IPMI 1.5 session header');
  const len = buf[lenAt]!;
  need(buf, lenAt + 1 + len, 'IPMI 1.5 message');
  return {
    format: 'ipmi15',
    authType,
    sessionSequence: u32le(buf, 5),
    sessionId: u32le(buf, 9),
    ...(hasCode ? { authCode: buf.slice(13, 29) } : {}),
    message: buf.slice(lenAt + 1, lenAt + 1 + len),
  };
}

// ---------------------------------------------------------------------------------------------
// Get Channel Authentication Capabilities (§22.13), session-less

/** Request data: 0x80 | channel 0x0E ("this channel") asks for IPMI v2.0 extended data; then the privilege. */
export function encodeChannelAuthCapRequestData(privilege: PrivilegeLevel, channel = 0x0e): Buffer {
  return Buffer.from([0x80 | (channel & 0x0f), privilege & 0x0f]);
}

export type ChannelAuthCapabilities = {
  channel: number;
  /** Bit mask of IPMI 1.5 auth types (bit 0 none, 1 MD2, 2 MD5, 4 straight password, 5 OEM). */
  authTypes: number;
  /** IPMI v2.0 extended capabilities present (bit 7 of byte 2). */
  ipmi20: boolean;
  /** K_g is set to a non-zero value on the BMC. */
  kgSet: boolean;
  perMessageAuthDisabled: boolean;
  userLevelAuthDisabled: boolean;
  nonNullUsers: boolean;
  nullUsers: boolean;
  anonymousLogin: boolean;
  /** Channel supports IPMI v2.0 connections (extended byte, bit 1). */
  supportsV20: boolean;
  supportsV15: boolean;
  oemId: number;
  oemAux: number;
};

export function encodeChannelAuthCapabilities(c: ChannelAuthCapabilities): Buffer {
  const out = Buffer.alloc(8);
  out[0] = c.channel & 0x0f;
  out[1] = (c.ipmi20 ? 0x80 : 0) | (c.authTypes & 0x3f);
  out[2] =
    (c.kgSet ? 0x20 : 0) |
    (c.perMessageAuthDisabled ? 0x10 : 0) |
    (c.userLevelAuthDisabled ? 0x08 : 0) |
    (c.nonNullUsers ? 0x04 : 0) |
    (c.nullUsers ? 0x02 : 0) |
    (c.anonymousLogin ? 0x01 : 0);
  out[3] = (c.supportsV20 ? 0x02 : 0) | (c.supportsV15 ? 0x01 : 0);
  out[4] = c.oemId & 0xff;
  out[5] = (c.oemId >> 8) & 0xff;
  out[6] = (c.oemId >> 16) & 0xff;
  out[7] = c.oemAux & 0xff;
  return out;
}

export function decodeChannelAuthCapabilities(data: Uint8Array): ChannelAuthCapabilities {
  need(data, 8, 'Get Channel Authentication Capabilities response');
  const ipmi20 = (data[1]! & 0x80) !== 0;
  return {
    channel: data[0]! & 0x0f,
    authTypes: data[1]! & 0x3f,
    ipmi20,
    kgSet: (data[2]! & 0x20) !== 0,
    perMessageAuthDisabled: (data[2]! & 0x10) !== 0,
    userLevelAuthDisabled: (data[2]! & 0x08) !== 0,
    nonNullUsers: (data[2]! & 0x04) !== 0,
    nullUsers: (data[2]! & 0x02) !== 0,
    anonymousLogin: (data[2]! & 0x01) !== 0,
    supportsV20: ipmi20 && (data[3]! & 0x02) !== 0,
    supportsV15: (data[3]! & 0x01) !== 0,
    oemId: data[4]! | (data[5]! << 8) | (data[6]! << 16),
    oemAux: data[7]!,
  };
}

// ---------------------------------------------------------------------------------------------
// RMCP+ session setup payloads (§13.17–13.23)

export type AlgorithmIds = { auth: number; integrity: number; confidentiality: number };

export type OpenSessionRequest = {
  tag: number;
  /** Requested maximum privilege; 0 means "highest the channel allows". */
  privilege: PrivilegeLevel;
  consoleSessionId: number;
  algorithms: AlgorithmIds;
};

export type OpenSessionResponse =
  | { tag: number; status: 0; privilege: number; consoleSessionId: number; managedSessionId: number; algorithms: AlgorithmIds }
  | { tag: number; status: number; consoleSessionId: number };

function algorithmRecord(type: number, id: number): Buffer {
  return Buffer.from([type, 0, 0, 8, id & 0x3f, 0, 0, 0]);
}

function readAlgorithmRecord(buf: Uint8Array, off: number, type: number, what: string): number {
  if (buf[off] !== type) fail(`Cannot decode ${what}: algorithm record type ${hex(buf[off]!)} where ${hex(type)} was expected`);
  if (buf[off + 3] !== 8) fail(`Cannot decode ${what}: algorithm record length ${buf[off + 3]} is not 8`);
  return buf[off + 4]! & 0x3f;
}

export function encodeOpenSessionRequest(r: OpenSessionRequest): Buffer {
  const head = Buffer.alloc(8);
  head[0] = r.tag & 0xff;
  head[1] = r.privilege & 0x0f;
  putU32le(head, 4, r.consoleSessionId);
  return Buffer.concat([
    head,
    algorithmRecord(0, r.algorithms.auth),
    algorithmRecord(1, r.algorithms.integrity),
    algorithmRecord(2, r.algorithms.confidentiality),
  ]);
}

export function decodeOpenSessionRequest(buf: Uint8Array): OpenSessionRequest {
  need(buf, 32, 'Open Session Request');
  return {
    tag: buf[0]!,
    privilege: (buf[1]! & 0x0f) as PrivilegeLevel,
    consoleSessionId: u32le(buf, 4),
    algorithms: {
      auth: readAlgorithmRecord(buf, 8, 0, 'Open Session Request'),
      integrity: readAlgorithmRecord(buf, 16, 1, 'Open Session Request'),
      confidentiality: readAlgorithmRecord(buf, 24, 2, 'Open Session Request'),
    },
  };
}

export function encodeOpenSessionResponse(r: OpenSessionResponse): Buffer {
  const head = Buffer.alloc('managedSessionId' in r ? 12 : 8);
  head[0] = r.tag & 0xff;
  head[1] = r.status & 0xff;
  putU32le(head, 4, r.consoleSessionId);
  if (!('managedSessionId' in r)) return head;
  head[2] = r.privilege & 0x0f;
  putU32le(head, 8, r.managedSessionId);
  return Buffer.concat([
    head,
    algorithmRecord(0, r.algorithms.auth),
    algorithmRecord(1, r.algorithms.integrity),
    algorithmRecord(2, r.algorithms.confidentiality),
  ]);
}

export function decodeOpenSessionResponse(buf: Uint8Array): OpenSessionResponse {
  need(buf, 2, 'Open Session Response');
  const status = buf[1]!;
  if (status !== 0) {
    need(buf, 8, 'Open Session Response');
    return { tag: buf[0]!, status, consoleSessionId: u32le(buf, 4) };
  }
  need(buf, 36, 'Open Session Response');
  return {
    tag: buf[0]!,
    status: 0,
    privilege: buf[2]! & 0x0f,
    consoleSessionId: u32le(buf, 4),
    managedSessionId: u32le(buf, 8),
    algorithms: {
      auth: readAlgorithmRecord(buf, 12, 0, 'Open Session Response'),
      integrity: readAlgorithmRecord(buf, 20, 1, 'Open Session Response'),
      confidentiality: readAlgorithmRecord(buf, 28, 2, 'Open Session Response'),
    },
  };
}

export type Rakp1 = {
  tag: number;
  managedSessionId: number;
  consoleRandom: Uint8Array;
  /** Requested privilege (low nibble) | 0x10 for name-only lookup. */
  role: number;
  username: Uint8Array;
};

export function encodeRakp1(r: Rakp1): Buffer {
  if (r.consoleRandom.length !== 16) throw new GoughError('internal', 'RAKP 1 console random must be 16 bytes');
  if (r.username.length > 16) throw new GoughError('internal', 'IPMI user names are at most 16 bytes');
  const out = Buffer.alloc(28 + r.username.length);
  out[0] = r.tag & 0xff;
  putU32le(out, 4, r.managedSessionId);
  out.set(r.consoleRandom, 8);
  out[24] = r.role & 0xff;
  out[27] = r.username.length;
  out.set(r.username, 28);
  return out;
}

export function decodeRakp1(buf: Uint8Array): Rakp1 {
  need(buf, 28, 'RAKP message 1');
  const ulen = buf[27]!;
  if (ulen > 16) fail(`Cannot decode RAKP message 1: user name length ${ulen} exceeds 16`);
  need(buf, 28 + ulen, 'RAKP message 1 user name');
  return {
    tag: buf[0]!,
    managedSessionId: u32le(buf, 4),
    consoleRandom: buf.slice(8, 24),
    role: buf[24]!,
    username: buf.slice(28, 28 + ulen),
  };
}

export type Rakp2 = {
  tag: number;
  status: number;
  consoleSessionId: number;
  /** Present when status is 0. */
  managedRandom?: Uint8Array;
  managedGuid?: Uint8Array;
  authCode?: Uint8Array;
};

export function encodeRakp2(r: Rakp2): Buffer {
  const head = Buffer.alloc(8);
  head[0] = r.tag & 0xff;
  head[1] = r.status & 0xff;
  putU32le(head, 4, r.consoleSessionId);
  if (r.status !== 0) return head;
  return Buffer.concat([
    head,
    r.managedRandom ?? new Uint8Array(16),
    r.managedGuid ?? new Uint8Array(16),
    r.authCode ?? new Uint8Array(0),
  ]);
}

export function decodeRakp2(buf: Uint8Array): Rakp2 {
  need(buf, 8, 'RAKP message 2');
  const base = { tag: buf[0]!, status: buf[1]!, consoleSessionId: u32le(buf, 4) };
  if (base.status !== 0) return base;
  need(buf, 40, 'RAKP message 2');
  return { ...base, managedRandom: buf.slice(8, 24), managedGuid: buf.slice(24, 40), authCode: buf.slice(40) };
}

export type Rakp3 = { tag: number; status: number; managedSessionId: number; authCode: Uint8Array };

export function encodeRakp3(r: Rakp3): Buffer {
  const head = Buffer.alloc(8);
  head[0] = r.tag & 0xff;
  head[1] = r.status & 0xff;
  putU32le(head, 4, r.managedSessionId);
  return Buffer.concat([head, r.authCode]);
}

export function decodeRakp3(buf: Uint8Array): Rakp3 {
  need(buf, 8, 'RAKP message 3');
  return { tag: buf[0]!, status: buf[1]!, managedSessionId: u32le(buf, 4), authCode: buf.slice(8) };
}

export type Rakp4 = { tag: number; status: number; consoleSessionId: number; integrityCheck: Uint8Array };

export function encodeRakp4(r: Rakp4): Buffer {
  const head = Buffer.alloc(8);
  head[0] = r.tag & 0xff;
  head[1] = r.status & 0xff;
  putU32le(head, 4, r.consoleSessionId);
  return Buffer.concat([head, r.integrityCheck]);
}

export function decodeRakp4(buf: Uint8Array): Rakp4 {
  need(buf, 8, 'RAKP message 4');
  return { tag: buf[0]!, status: buf[1]!, consoleSessionId: u32le(buf, 4), integrityCheck: buf.slice(8) };
}

/** Decodes whichever session-setup payload the type says, for BMC responders and fuzzing. */
export function decodeSetupPayload(
  payloadType: number,
  buf: Uint8Array,
):
  | { type: 'open-request'; value: OpenSessionRequest }
  | { type: 'open-response'; value: OpenSessionResponse }
  | { type: 'rakp1'; value: Rakp1 }
  | { type: 'rakp2'; value: Rakp2 }
  | { type: 'rakp3'; value: Rakp3 }
  | { type: 'rakp4'; value: Rakp4 } {
  switch (payloadType) {
    case PAYLOAD.openSessionRequest:
      return { type: 'open-request', value: decodeOpenSessionRequest(buf) };
    case PAYLOAD.openSessionResponse:
      return { type: 'open-response', value: decodeOpenSessionResponse(buf) };
    case PAYLOAD.rakp1:
      return { type: 'rakp1', value: decodeRakp1(buf) };
    case PAYLOAD.rakp2:
      return { type: 'rakp2', value: decodeRakp2(buf) };
    case PAYLOAD.rakp3:
      return { type: 'rakp3', value: decodeRakp3(buf) };
    case PAYLOAD.rakp4:
      return { type: 'rakp4', value: decodeRakp4(buf) };
    default:
      return fail(`Cannot decode session setup payload: type ${hex(payloadType)} is not a setup payload`);
  }
}
