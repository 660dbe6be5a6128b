import { describe, expect, it } from 'vitest';
import {
  type ChannelAuthCapabilities,
  PAYLOAD,
  checksum,
  completionCodeName,
  decodeAsf,
  decodeBootOptionsResponse,
  decodeChannelAuthCapabilities,
  decodeChassisStatus,
  decodeDeviceId,
  decodeIpmiMessage,
  decodeIpmiPacket,
  decodeIpmiRequest,
  decodeIpmiResponse,
  decodeSetupPayload,
  encodeAsf,
  encodeBootFlags,
  encodeBootOptionsResponse,
  encodeChannelAuthCapRequestData,
  encodeChannelAuthCapabilities,
  encodeChassisStatus,
  encodeDeviceId,
  encodeIpmi15Packet,
  encodeIpmiRequest,
  encodeIpmiResponse,
  encodeOpenSessionRequest,
  encodeOpenSessionResponse,
  encodeRakp1,
  encodeRakp2,
  encodeRakp3,
  encodeRakp4,
  encodeRmcpPlusPacket,
  rmcpStatusName,
} from '../../../src/drivers/ipmi/index.js';
import { GoughError } from '../../../src/model/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Byte fields as hex, so Buffer and Uint8Array compare equal. */
const norm = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v]));

function decodeError(fn: () => unknown): GoughError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GoughError);
    expect((e as GoughError).code).toBe('ipmi-decode');
    return e as GoughError;
  }
  throw new Error('expected a decode error');
}

describe('IPMI codec', () => {
  it('encodes the session-less Get Channel Authentication Capabilities request exactly as ipmitool does', () => {
    const msg = encodeIpmiRequest({ netFn: 0x06, command: 0x38, data: encodeChannelAuthCapRequestData(4), sequence: 0 });
    const pkt = encodeIpmi15Packet({ authType: 0, sessionSequence: 0, sessionId: 0, message: msg });
    // RMCP 06 00 FF 07, auth none, seq 0, session 0, length 9, 20 18 c8 81 00 38 8e 04 b5
    expect(hex(pkt)).toBe('0600ff07' + '00' + '00000000' + '00000000' + '09' + '2018c8810038' + '8e04' + 'b5');
    const back = decodeIpmiPacket(pkt);
    expect(back.format).toBe('ipmi15');
    if (back.format === 'ipmi15') expect(norm(decodeIpmiRequest(back.message))).toEqual({ netFn: 6, command: 0x38, data: '8e04', sequence: 0 });
  });

  it('computes both IPMI message checksums and rejects a bad one', () => {
    const r = encodeIpmiResponse({ netFn: 0x07, command: 0x38, sequence: 5, completionCode: 0, data: Uint8Array.of(1, 2, 3) });
    expect(checksum(r, 0, 3)).toBe(0);
    expect(checksum(r, 3, r.length)).toBe(0);
    expect(norm(decodeIpmiResponse(r))).toEqual({ netFn: 7, command: 0x38, sequence: 5, completionCode: 0, data: '010203' });
    const bad1 = Buffer.from(r);
    bad1[2] = (bad1[2]! + 1) & 0xff;
    expect(decodeError(() => decodeIpmiMessage(bad1)).message).toContain('header checksum');
    const bad2 = Buffer.from(r);
    bad2[6] = (bad2[6]! + 1) & 0xff;
    expect(decodeError(() => decodeIpmiMessage(bad2)).message).toContain('data checksum');
    decodeError(() => decodeIpmiResponse(encodeIpmiRequest({ netFn: 6, command: 1, data: new Uint8Array(0), sequence: 1 })));
  });

  it('round-trips the ASF presence ping and pong', () => {
    const ping = encodeAsf({ kind: 'ping', tag: 7 });
    expect(hex(ping)).toBe('0600ff06000011be80070000');
    expect(decodeAsf(ping)).toEqual({ kind: 'ping', tag: 7 });
    const pong = { kind: 'pong' as const, tag: 7, pong: { iana: 4542, oem: 0, entities: 0x81, interactions: 0 } };
    expect(decodeAsf(encodeAsf(pong))).toEqual(pong);
    decodeError(() => decodeAsf(Buffer.from('0600ff06000011be', 'hex')));
  });

  it('round-trips Channel Authentication Capabilities', () => {
    const caps: ChannelAuthCapabilities = {
      channel: 1,
      authTypes: 0x15,
      ipmi20: true,
      kgSet: true,
      perMessageAuthDisabled: false,
      userLevelAuthDisabled: true,
      nonNullUsers: true,
      nullUsers: false,
      anonymousLogin: false,
      supportsV20: true,
      supportsV15: true,
      oemId: 0x1291,
      oemAux: 0,
    };
    expect(decodeChannelAuthCapabilities(encodeChannelAuthCapabilities(caps))).toEqual(caps);
  });

  it('round-trips Open Session and RAKP 1–4 payloads, both directions', () => {
    const algorithms = { auth: 1, integrity: 1, confidentiality: 1 };
    const req = { tag: 9, privilege: 4 as const, consoleSessionId: 0xa1b2c3d4, algorithms };
    const reqBytes = encodeOpenSessionRequest(req);
    expect(hex(reqBytes)).toBe('09040000d4c3b2a1' + '0000000801000000' + '0100000801000000' + '0200000801000000');
    expect(decodeSetupPayload(PAYLOAD.openSessionRequest, reqBytes)).toEqual({ type: 'open-request', value: req });
    const resp = { tag: 9, status: 0 as const, privilege: 4, consoleSessionId: 0xa1b2c3d4, managedSessionId: 0x01020304, algorithms };
    expect(decodeSetupPayload(PAYLOAD.openSessionResponse, encodeOpenSessionResponse(resp))).toEqual({ type: 'open-response', value: resp });
    const refused = { tag: 9, status: 0x11, consoleSessionId: 5 };
    expect(decodeSetupPayload(PAYLOAD.openSessionResponse, encodeOpenSessionResponse(refused)).value).toEqual(refused);

    const rakp1 = { tag: 10, managedSessionId: 0x01020304, consoleRandom: Uint8Array.from(Buffer.alloc(16, 0xab)), role: 0x14, username: Uint8Array.from(Buffer.from('admin')) };
    const r1 = encodeRakp1(rakp1);
    expect(r1.length).toBe(33);
    expect(r1[24]).toBe(0x14);
    expect(r1[27]).toBe(5);
    const back = decodeSetupPayload(PAYLOAD.rakp1, r1).value as typeof rakp1;
    expect({ ...back, consoleRandom: hex(back.consoleRandom), username: hex(back.username) }).toEqual({ ...rakp1, consoleRandom: hex(rakp1.consoleRandom), username: hex(rakp1.username) });

    const rakp2 = { tag: 10, status: 0, consoleSessionId: 7, managedRandom: Buffer.alloc(16, 1), managedGuid: Buffer.alloc(16, 2), authCode: Buffer.alloc(20, 3) };
    expect(hex((decodeSetupPayload(PAYLOAD.rakp2, encodeRakp2(rakp2)).value as { authCode: Uint8Array }).authCode)).toBe('03'.repeat(20));
    expect(decodeSetupPayload(PAYLOAD.rakp2, encodeRakp2({ tag: 1, status: 0x0d, consoleSessionId: 7 })).value).toEqual({ tag: 1, status: 0x0d, consoleSessionId: 7 });
    const rakp3 = { tag: 11, status: 0, managedSessionId: 8, authCode: Uint8Array.from(Buffer.alloc(32, 4)) };
    expect(norm(decodeSetupPayload(PAYLOAD.rakp3, encodeRakp3(rakp3)).value)).toEqual(norm(rakp3));
    const rakp4 = { tag: 11, status: 0, consoleSessionId: 7, integrityCheck: Uint8Array.from(Buffer.alloc(16, 5)) };
    expect(norm(decodeSetupPayload(PAYLOAD.rakp4, encodeRakp4(rakp4)).value)).toEqual(norm(rakp4));

    decodeError(() => decodeSetupPayload(PAYLOAD.openSessionRequest, reqBytes.subarray(0, 20)));
    decodeError(() => decodeSetupPayload(PAYLOAD.rakp1, Buffer.concat([r1.subarray(0, 27), Buffer.from([17])])));
    decodeError(() => decodeSetupPayload(0x00, r1));
  });

  it('frames RMCP+ packets with payload type flags, session id, sequence and length', () => {
    const pkt = encodeRmcpPlusPacket({ payloadType: PAYLOAD.ipmi, encrypted: true, authenticated: true, sessionId: 0x11223344, sessionSequence: 2, payload: Buffer.from('abcd') });
    expect(hex(pkt)).toBe('0600ff07' + '06' + 'c0' + '44332211' + '02000000' + '0400' + hex(Buffer.from('abcd')));
    const d = decodeIpmiPacket(pkt);
    expect(d).toMatchObject({ format: 'rmcp+', payloadType: 0, encrypted: true, authenticated: true, sessionId: 0x11223344, sessionSequence: 2 });
    decodeError(() => decodeIpmiPacket(pkt.subarray(0, pkt.length - 1)));
    decodeError(() => decodeIpmiPacket(Buffer.from('0700ff07', 'hex')));
  });

  it('names completion codes and RMCP+ status codes', () => {
    expect(completionCodeName(0xc0)).toBe('Node busy');
    expect(completionCodeName(0xd4)).toBe('Insufficient privilege level');
    expect(completionCodeName(0xcc)).toBe('Invalid data field in request');
    expect(completionCodeName(0x81)).toBe('Command-specific completion code');
    expect(rmcpStatusName(0x0d)).toBe('Unauthorized name');
    expect(rmcpStatusName(0x11)).toBe('No cipher suite match with proposed security algorithms');
  });
});

describe('IPMI command data', () => {
  it('decodes chassis status power, last power event and fault bits', () => {
    const st = decodeChassisStatus(Uint8Array.of(0x29, 0x11, 0x0c));
    expect(st).toMatchObject({ power: 'on', powerFault: true, restorePolicy: 'previous', intrusion: false, driveFault: true, fanFault: true });
    expect(st.lastPowerEvent).toEqual({ acFailed: true, overload: false, interlock: false, fault: false, commandOn: true });
    expect(encodeChassisStatus(st)).toEqual(Uint8Array.of(0x29, 0x11, 0x0c));
    decodeError(() => decodeChassisStatus(Uint8Array.of(1)));
  });

  it('encodes boot flags as ipmitool does and decodes them back', () => {
    expect(hex(encodeBootFlags({ valid: true, persistent: false, efi: false, device: 'pxe' }))).toBe('8004000000');
    expect(hex(encodeBootFlags({ valid: true, persistent: true, efi: true, device: 'disk' }))).toBe('e008000000');
    expect(decodeBootOptionsResponse(encodeBootOptionsResponse({ valid: true, persistent: true, efi: false, device: 'pxe' }))).toEqual({
      parameter: 5,
      flags: { valid: true, persistent: true, efi: false, device: 'pxe' },
    });
    // ipmi_sim's answer after "bootdev disk": valid bit clear, device 0x08
    expect(decodeBootOptionsResponse(Uint8Array.of(0x01, 0x05, 0x00, 0x08, 0, 0, 0)).flags.device).toBe('disk');
  });

  it('round-trips Get Device ID', () => {
    const id = { deviceId: 0x20, deviceRevision: 1, firmware: '9.08', ipmiVersion: '2.0', manufacturerId: 0x1291, productId: 0xf02 };
    expect(decodeDeviceId(encodeDeviceId(id))).toEqual(id);
  });
});
