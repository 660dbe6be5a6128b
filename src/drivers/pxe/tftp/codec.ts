/**
 * TFTP wire codec (RFC 1350, options RFC 2347). Pure. Decoding never throws anything but `GoughError('tftp-decode')`.
 */
import { GoughError } from '../../../model/index.js';

export type TftpRequest = {
  op: 'RRQ' | 'WRQ';
  filename: string;
  mode: string;
  /** Option names lower-cased, values as sent, in wire order. */
  options: Record<string, string>;
};
export type TftpPacket =
  | TftpRequest
  | { op: 'DATA'; block: number; data: Uint8Array }
  | { op: 'ACK'; block: number }
  | { op: 'ERROR'; code: number; message: string }
  | { op: 'OACK'; options: Record<string, string> };

export const TFTP_ERRORS = {
  undefined: 0,
  notFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTid: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionRefused: 8,
} as const;

const OPS = ['', 'RRQ', 'WRQ', 'DATA', 'ACK', 'ERROR', 'OACK'] as const;
const OPCODE: Record<TftpPacket['op'], number> = {
  RRQ: 1,
  WRQ: 2,
  DATA: 3,
  ACK: 4,
  ERROR: 5,
  OACK: 6,
};

function fail(message: string): never {
  throw new GoughError('tftp-decode', message);
}

/** Splits a run of NUL-terminated strings; every string must be terminated and printable ASCII. */
function strings(b: Uint8Array, from: number): string[] {
  const out: string[] = [];
  let start = from;
  for (let i = from; i < b.length; i++) {
    const c = b[i] ?? 0;
    if (c === 0) {
      out.push(String.fromCharCode(...b.subarray(start, i)));
      start = i + 1;
    } else if (c < 0x20 || c > 0x7e) fail(`Non-printable byte ${c} in a TFTP string`);
  }
  if (start !== b.length) fail('Unterminated string in TFTP packet');
  return out;
}

function optionsOf(list: string[], from: number): Record<string, string> {
  if ((list.length - from) % 2 !== 0) fail('TFTP option without a value');
  const out: Record<string, string> = {};
  for (let i = from; i < list.length; i += 2) {
    const name = (list[i] ?? '').toLowerCase();
    if (name === '') fail('Empty TFTP option name');
    if (Object.hasOwn(out, name)) fail(`Repeated TFTP option "${name}"`);
    out[name] = list[i + 1] ?? '';
  }
  return out;
}

export function decodeTftp(b: Uint8Array): TftpPacket {
  if (b.length < 2) fail(`TFTP packet too short: ${b.length} bytes`);
  const code = ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  const op = OPS[code];
  if (op === undefined || op === '') fail(`Unknown TFTP opcode ${code}`);
  switch (op) {
    case 'RRQ':
    case 'WRQ': {
      const list = strings(b, 2);
      if (list.length < 2) fail('TFTP request without filename and mode');
      const filename = list[0] ?? '';
      if (filename === '') fail('TFTP request with an empty filename');
      return {
        op,
        filename,
        mode: (list[1] ?? '').toLowerCase(),
        options: optionsOf(list, 2),
      };
    }
    case 'DATA':
      if (b.length < 4) fail('TFTP DATA without block number');
      return {
        op,
        block: ((b[2] ?? 0) << 8) | (b[3] ?? 0),
        data: b.subarray(4),
      };
    case 'ACK':
      if (b.length !== 4) fail(`TFTP ACK of ${b.length} bytes, expected 4`);
      return { op, block: ((b[2] ?? 0) << 8) | (b[3] ?? 0) };
    case 'ERROR': {
      if (b.length < 5) fail('TFTP ERROR too short');
      // Error text is free-form; tolerate missing NUL and odd bytes.
      const end = b.indexOf(0, 4);
      const text = b.subarray(4, end === -1 ? b.length : end);
      return {
        op,
        code: ((b[2] ?? 0) << 8) | (b[3] ?? 0),
        message: String.fromCharCode(...text),
      };
    }
    case 'OACK':
      return { op, options: optionsOf(strings(b, 2), 0) };
  }
}

function ascii(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0x7f);
  out.push(0);
  return out;
}

export function encodeTftp(p: TftpPacket): Uint8Array {
  const code = OPCODE[p.op];
  switch (p.op) {
    case 'RRQ':
    case 'WRQ': {
      const parts = [...ascii(p.filename), ...ascii(p.mode)];
      for (const [k, v] of Object.entries(p.options)) parts.push(...ascii(k), ...ascii(v));
      return Uint8Array.from([0, code, ...parts]);
    }
    case 'DATA': {
      const out = new Uint8Array(4 + p.data.length);
      out[1] = code;
      out[2] = (p.block >> 8) & 255;
      out[3] = p.block & 255;
      out.set(p.data, 4);
      return out;
    }
    case 'ACK':
      return Uint8Array.of(0, code, (p.block >> 8) & 255, p.block & 255);
    case 'ERROR':
      return Uint8Array.from([0, code, (p.code >> 8) & 255, p.code & 255, ...ascii(p.message)]);
    case 'OACK': {
      const parts: number[] = [];
      for (const [k, v] of Object.entries(p.options)) parts.push(...ascii(k), ...ascii(v));
      return Uint8Array.from([0, code, ...parts]);
    }
  }
}
