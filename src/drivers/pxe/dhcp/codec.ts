/**
 * DHCPv4 wire codec (RFC 2131 header, RFC 2132 options, RFC 3396 long options). Pure: bytes ⇄ typed message.
 * Decoding never throws anything but `GoughError('dhcp-decode')`.
 */
import { GoughError } from '../../../model/index.js';

export const DHCP_MAGIC_COOKIE = 0x63825363;
/** Minimum BOOTP message size; replies are padded to it (RFC 951, RFC 1542 §2.1). */
export const BOOTP_MIN_SIZE = 300;
const HEADER_SIZE = 236;

export const MESSAGE_TYPES = {
  1: 'DISCOVER',
  2: 'OFFER',
  3: 'REQUEST',
  4: 'DECLINE',
  5: 'ACK',
  6: 'NAK',
  7: 'RELEASE',
  8: 'INFORM',
} as const;
export type MessageTypeCode = keyof typeof MESSAGE_TYPES;
export type MessageType = (typeof MESSAGE_TYPES)[MessageTypeCode];
const TYPE_CODES: Record<MessageType, number> = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
};

/** Option codes Gough reads or writes. */
export const OPT = {
  pad: 0,
  subnetMask: 1,
  router: 3,
  dns: 6,
  hostname: 12,
  domainName: 15,
  broadcast: 28,
  vendorSpecific: 43,
  requestedIp: 50,
  leaseTime: 51,
  overload: 52,
  messageType: 53,
  serverId: 54,
  paramRequest: 55,
  message: 56,
  maxMessageSize: 57,
  renewalTime: 58,
  rebindingTime: 59,
  vendorClass: 60,
  clientId: 61,
  tftpServer: 66,
  bootFile: 67,
  userClass: 77,
  clientArch: 93,
  clientNdi: 94,
  clientUuid: 97,
  end: 255,
} as const;

export type DhcpMessage = {
  /** 1 = BOOTREQUEST, 2 = BOOTREPLY. */
  op: 1 | 2;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The 16-byte client hardware address field. */
  chaddr: Uint8Array;
  sname: string;
  file: string;
  /** Options in wire order; repeated codes are concatenated (RFC 3396). */
  options: Map<number, Uint8Array>;
};

export const BROADCAST_FLAG = 0x8000;

const LATIN1 = new TextDecoder('latin1');
const UTF8 = new TextEncoder();

function fail(message: string): never {
  throw new GoughError('dhcp-decode', message);
}

export function ipToBytes(ip: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0;
  let val = 0;
  let digits = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 3) throw new GoughError('dhcp-decode', `Invalid IPv4 address "${ip}"`);
      out[part++] = val;
      val = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      val = val * 10 + (c - 48);
      digits++;
      if (val > 255) throw new GoughError('dhcp-decode', `Invalid IPv4 address "${ip}"`);
    } else throw new GoughError('dhcp-decode', `Invalid IPv4 address "${ip}"`);
  }
  if (part !== 4) throw new GoughError('dhcp-decode', `Invalid IPv4 address "${ip}"`);
  return out;
}

export function bytesToIp(b: Uint8Array, at = 0): string {
  return `${b[at] ?? 0}.${b[at + 1] ?? 0}.${b[at + 2] ?? 0}.${b[at + 3] ?? 0}`;
}

export function ipToInt(ip: string): number {
  const b = ipToBytes(ip);
  return (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
}

export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Lower-case colon-separated MAC of the first `hlen` bytes of chaddr (Ethernet: 6). */
export function macOf(msg: Pick<DhcpMessage, 'chaddr' | 'hlen'>): string {
  const n = Math.min(Math.max(msg.hlen, 0), 16);
  return Array.from(msg.chaddr.subarray(0, n), (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new GoughError('dhcp-decode', `Invalid MAC address "${mac}"`);
  }
  const out = new Uint8Array(16);
  parts.forEach((p, i) => {
    out[i] = Number.parseInt(p, 16);
  });
  return out;
}

function readCString(b: Uint8Array, from: number, len: number): string {
  const slice = b.subarray(from, from + len);
  const nul = slice.indexOf(0);
  return LATIN1.decode(nul === -1 ? slice : slice.subarray(0, nul));
}

/** Parses an option area into `into`, concatenating repeated codes. Returns the overload value seen (52), if any. */
function parseOptions(b: Uint8Array, from: number, to: number, into: Map<number, Uint8Array>, area: string): void {
  let i = from;
  while (i < to) {
    const code = b[i] ?? 0;
    if (code === OPT.pad) {
      i += 1;
      continue;
    }
    if (code === OPT.end) return;
    if (i + 1 >= to) fail(`Option ${code} in the ${area} area has no length byte`);
    const len = b[i + 1] ?? 0;
    if (i + 2 + len > to) fail(`Option ${code} in the ${area} area overruns the packet: length ${len}`);
    const value = b.subarray(i + 2, i + 2 + len);
    const prev = into.get(code);
    if (prev === undefined) into.set(code, Uint8Array.from(value));
    else {
      const joined = new Uint8Array(prev.length + value.length);
      joined.set(prev);
      joined.set(value, prev.length);
      into.set(code, joined);
    }
    i += 2 + len;
  }
  // RFC 2131 requires END, but many stacks omit it when the area is full; accept its absence.
}

export function decodeDhcp(input: Uint8Array): DhcpMessage {
  try {
    return decodeUnchecked(input);
  } catch (e) {
    if (e instanceof GoughError) throw e;
    throw new GoughError('dhcp-decode', `Malformed DHCP packet: ${(e as Error).message}`, { cause: e });
  }
}

function decodeUnchecked(b: Uint8Array): DhcpMessage {
  if (b.length < HEADER_SIZE + 4) fail(`Packet too short: ${b.length} bytes`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const op = b[0];
  if (op !== 1 && op !== 2) fail(`Unknown BOOTP op ${op}`);
  if (view.getUint32(HEADER_SIZE) !== DHCP_MAGIC_COOKIE) fail('Missing DHCP magic cookie');
  const options = new Map<number, Uint8Array>();
  parseOptions(b, HEADER_SIZE + 4, b.length, options, 'options');
  const overload = options.get(OPT.overload);
  let file = readCString(b, 108, 128);
  let sname = readCString(b, 44, 64);
  if (overload !== undefined) {
    if (overload.length !== 1) fail(`Option overload has length ${overload.length}, expected 1`);
    const v = overload[0] ?? 0;
    if (v < 1 || v > 3) fail(`Option overload has value ${v}, expected 1 to 3`);
    // RFC 2131 §4.1: options area first, then file, then sname.
    if (v & 1) {
      parseOptions(b, 108, 236, options, 'file');
      file = '';
    }
    if (v & 2) {
      parseOptions(b, 44, 108, options, 'sname');
      sname = '';
    }
  }
  const hlen = b[2] ?? 0;
  if (hlen > 16) fail(`Hardware address length ${hlen} exceeds 16`);
  return {
    op,
    htype: b[1] ?? 0,
    hlen,
    hops: b[3] ?? 0,
    xid: view.getUint32(4),
    secs: view.getUint16(8),
    flags: view.getUint16(10),
    ciaddr: bytesToIp(b, 12),
    yiaddr: bytesToIp(b, 16),
    siaddr: bytesToIp(b, 20),
    giaddr: bytesToIp(b, 24),
    chaddr: Uint8Array.from(b.subarray(28, 44)),
    sname,
    file,
    options,
  };
}

/** Encodes a message; options longer than 255 bytes are split (RFC 3396); the result is padded to 300 bytes. */
export function encodeDhcp(msg: DhcpMessage): Uint8Array {
  let optLen = 0;
  for (const [code, v] of msg.options) {
    if (code === OPT.pad || code === OPT.end) continue;
    optLen += Math.max(1, Math.ceil(v.length / 255)) * 2 + v.length;
  }
  const size = Math.max(BOOTP_MIN_SIZE, HEADER_SIZE + 4 + optLen + 1);
  const b = new Uint8Array(size);
  const view = new DataView(b.buffer);
  b[0] = msg.op;
  b[1] = msg.htype;
  b[2] = msg.hlen;
  b[3] = msg.hops;
  view.setUint32(4, msg.xid >>> 0);
  view.setUint16(8, msg.secs);
  view.setUint16(10, msg.flags);
  b.set(ipToBytes(msg.ciaddr), 12);
  b.set(ipToBytes(msg.yiaddr), 16);
  b.set(ipToBytes(msg.siaddr), 20);
  b.set(ipToBytes(msg.giaddr), 24);
  b.set(msg.chaddr.subarray(0, 16), 28);
  const enc = UTF8;
  if (msg.sname !== '') b.set(enc.encode(msg.sname).subarray(0, 63), 44);
  if (msg.file !== '') b.set(enc.encode(msg.file).subarray(0, 127), 108);
  view.setUint32(HEADER_SIZE, DHCP_MAGIC_COOKIE);
  let i = HEADER_SIZE + 4;
  for (const [code, v] of msg.options) {
    if (code === OPT.pad || code === OPT.end) continue;
    let off = 0;
    do {
      const chunk = v.subarray(off, off + 255);
      b[i++] = code;
      b[i++] = chunk.length;
      b.set(chunk, i);
      i += chunk.length;
      off += 255;
    } while (off < v.length);
  }
  b[i] = OPT.end;
  return b;
}

// ---------------------------------------------------------------------------------------------
// Option value helpers

export function messageTypeOf(msg: DhcpMessage): MessageType | undefined {
  const v = msg.options.get(OPT.messageType);
  if (v === undefined || v.length !== 1) return undefined;
  return MESSAGE_TYPES[(v[0] ?? 0) as MessageTypeCode];
}

export function typeOption(t: MessageType): Uint8Array {
  return Uint8Array.of(TYPE_CODES[t]);
}

export function ipOption(ip: string): Uint8Array {
  return ipToBytes(ip);
}

export function ipListOption(ips: readonly string[]): Uint8Array {
  const out = new Uint8Array(ips.length * 4);
  ips.forEach((ip, i) => {
    out.set(ipToBytes(ip), i * 4);
  });
  return out;
}

export function u32Option(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

export function stringOption(s: string): Uint8Array {
  return UTF8.encode(s);
}

/** An option holding exactly one IPv4 address, else undefined. */
export function readIpOption(msg: DhcpMessage, code: number): string | undefined {
  const v = msg.options.get(code);
  return v !== undefined && v.length === 4 ? bytesToIp(v) : undefined;
}

export function readStringOption(msg: DhcpMessage, code: number): string | undefined {
  const v = msg.options.get(code);
  if (v === undefined) return undefined;
  const nul = v.indexOf(0);
  return LATIN1.decode(nul === -1 ? v : v.subarray(0, nul));
}

/**
 * User classes (option 77). RFC 3004 encodes length-prefixed items; most PXE stacks (iPXE, udhcpc -x 77:…) send one
 * raw string instead. Both readings are returned.
 */
export function readUserClasses(msg: DhcpMessage): string[] {
  const v = msg.options.get(OPT.userClass);
  if (v === undefined || v.length === 0) return [];
  const dec = LATIN1;
  const out = [dec.decode(v)];
  const items: string[] = [];
  let i = 0;
  while (i < v.length) {
    const n = v[i] ?? 0;
    if (n === 0 || i + 1 + n > v.length) {
      items.length = 0;
      break;
    }
    items.push(dec.decode(v.subarray(i + 1, i + 1 + n)));
    i += 1 + n;
  }
  return i === v.length ? out.concat(items) : out;
}

/** Client system architectures of option 93 (RFC 4578); the first is the one that counts. */
export function readClientArch(msg: DhcpMessage): number | undefined {
  const v = msg.options.get(OPT.clientArch);
  if (v === undefined || v.length < 2) return undefined;
  return ((v[0] ?? 0) << 8) | (v[1] ?? 0);
}

/** A blank BOOTP message of the given op with zeroed addresses. */
export function blankMessage(op: 1 | 2): DhcpMessage {
  return {
    op,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: new Uint8Array(16),
    sname: '',
    file: '',
    options: new Map(),
  };
}
