/**
 * The IPMI commands Gough uses (IPMI v2.0 §20.1 Get Device ID, §28 chassis), as pure data codecs plus thin
 * functions that run them on an `IpmiSession` and turn a non-zero completion code into a classified GoughError.
 */
import { GoughError } from '../../model/index.js';
import { NETFN } from './codec.js';
import { type IpmiSession, type RequestOptions, classifyCompletion } from './session.js';

export const CMD = {
  getDeviceId: 0x01,
  getChassisStatus: 0x01,
  chassisControl: 0x02,
  setSystemBootOptions: 0x08,
  getSystemBootOptions: 0x09,
} as const;

function decodeFail(what: string, len: number, min: number): never {
  throw new GoughError('ipmi-decode', `Cannot decode ${what}: ${len} data bytes, need at least ${min}`);
}

// ---------------------------------------------------------------------------------------------
// Get Device ID

export type DeviceId = {
  deviceId: number;
  deviceRevision: number;
  /** "major.minor" (minor is BCD). */
  firmware: string;
  /** "2.0" for IPMI v2.0. */
  ipmiVersion: string;
  manufacturerId: number;
  productId: number;
};

export function decodeDeviceId(d: Uint8Array): DeviceId {
  if (d.length < 11) decodeFail('Get Device ID response', d.length, 11);
  const minor = d[3]!;
  return {
    deviceId: d[0]!,
    deviceRevision: d[1]! & 0x0f,
    firmware: `${d[2]! & 0x7f}.${((minor >> 4) * 10 + (minor & 0x0f)).toString().padStart(2, '0')}`,
    ipmiVersion: `${d[4]! & 0x0f}.${d[4]! >> 4}`,
    manufacturerId: d[6]! | (d[7]! << 8) | ((d[8]! & 0x0f) << 16),
    productId: d[9]! | (d[10]! << 8),
  };
}

export function encodeDeviceId(v: DeviceId): Uint8Array {
  const [maj, min] = v.firmware.split('.').map(Number) as [number, number];
  const [imaj, imin] = v.ipmiVersion.split('.').map(Number) as [number, number];
  return Uint8Array.of(
    v.deviceId,
    v.deviceRevision & 0x0f,
    maj & 0x7f,
    (Math.floor(min / 10) << 4) | min % 10,
    (imin << 4) | imaj,
    0x80,
    v.manufacturerId & 0xff,
    (v.manufacturerId >> 8) & 0xff,
    (v.manufacturerId >> 16) & 0x0f,
    v.productId & 0xff,
    (v.productId >> 8) & 0xff,
  );
}

// ---------------------------------------------------------------------------------------------
// Get Chassis Status (§28.2)

export type PowerRestorePolicy = 'always-off' | 'previous' | 'always-on' | 'unknown';

export type ChassisStatus = {
  power: 'on' | 'off';
  powerOverload: boolean;
  interlock: boolean;
  powerFault: boolean;
  powerControlFault: boolean;
  restorePolicy: PowerRestorePolicy;
  lastPowerEvent: { acFailed: boolean; overload: boolean; interlock: boolean; fault: boolean; commandOn: boolean };
  intrusion: boolean;
  frontPanelLockout: boolean;
  driveFault: boolean;
  fanFault: boolean;
};

const POLICIES: readonly PowerRestorePolicy[] = ['always-off', 'previous', 'always-on', 'unknown'];

export function decodeChassisStatus(d: Uint8Array): ChassisStatus {
  if (d.length < 3) decodeFail('Get Chassis Status response', d.length, 3);
  const a = d[0]!;
  const b = d[1]!;
  const c = d[2]!;
  return {
    power: a & 0x01 ? 'on' : 'off',
    powerOverload: (a & 0x02) !== 0,
    interlock: (a & 0x04) !== 0,
    powerFault: (a & 0x08) !== 0,
    powerControlFault: (a & 0x10) !== 0,
    restorePolicy: POLICIES[(a >> 5) & 0x03]!,
    lastPowerEvent: {
      acFailed: (b & 0x01) !== 0,
      overload: (b & 0x02) !== 0,
      interlock: (b & 0x04) !== 0,
      fault: (b & 0x08) !== 0,
      commandOn: (b & 0x10) !== 0,
    },
    intrusion: (c & 0x01) !== 0,
    frontPanelLockout: (c & 0x02) !== 0,
    driveFault: (c & 0x04) !== 0,
    fanFault: (c & 0x08) !== 0,
  };
}

export function encodeChassisStatus(s: ChassisStatus): Uint8Array {
  const e = s.lastPowerEvent;
  return Uint8Array.of(
    (s.power === 'on' ? 1 : 0) |
      (s.powerOverload ? 2 : 0) |
      (s.interlock ? 4 : 0) |
      (s.powerFault ? 8 : 0) |
      (s.powerControlFault ? 0x10 : 0) |
      (POLICIES.indexOf(s.restorePolicy) << 5),
    (e.acFailed ? 1 : 0) | (e.overload ? 2 : 0) | (e.interlock ? 4 : 0) | (e.fault ? 8 : 0) | (e.commandOn ? 0x10 : 0),
    (s.intrusion ? 1 : 0) | (s.frontPanelLockout ? 2 : 0) | (s.driveFault ? 4 : 0) | (s.fanFault ? 8 : 0),
  );
}

// ---------------------------------------------------------------------------------------------
// Chassis Control (§28.3)

export type ChassisControlOp = 'off' | 'on' | 'cycle' | 'reset' | 'diag' | 'soft';

export const CHASSIS_CONTROL: Readonly<Record<ChassisControlOp, number>> = { off: 0, on: 1, cycle: 2, reset: 3, diag: 4, soft: 5 };

// ---------------------------------------------------------------------------------------------
// System boot options (§28.12, §28.13), parameter 5 (boot flags) and 4 (boot info acknowledge)

export type BootDevice = 'none' | 'pxe' | 'disk' | 'disk-safe' | 'diag' | 'cdrom' | 'bios' | 'remote-floppy' | 'remote-cdrom' | 'remote-disk' | 'floppy' | 'other';

const DEVICE_CODES: ReadonlyMap<number, BootDevice> = new Map([
  [0x0, 'none'],
  [0x1, 'pxe'],
  [0x2, 'disk'],
  [0x3, 'disk-safe'],
  [0x4, 'diag'],
  [0x5, 'cdrom'],
  [0x6, 'bios'],
  [0x7, 'remote-floppy'],
  [0x8, 'remote-cdrom'],
  [0x9, 'remote-disk'],
  [0xb, 'remote-disk'],
  [0xf, 'floppy'],
]);

export type BootFlags = { valid: boolean; persistent: boolean; efi: boolean; device: BootDevice };

export function encodeBootFlags(f: BootFlags): Uint8Array {
  const code = [...DEVICE_CODES].find(([, v]) => v === f.device)?.[0] ?? 0;
  return Uint8Array.of((f.valid ? 0x80 : 0) | (f.persistent ? 0x40 : 0) | (f.efi ? 0x20 : 0), (code & 0x0f) << 2, 0, 0, 0);
}

export function decodeBootFlags(d: Uint8Array): BootFlags {
  if (d.length < 2) decodeFail('boot flags', d.length, 2);
  return {
    valid: (d[0]! & 0x80) !== 0,
    persistent: (d[0]! & 0x40) !== 0,
    efi: (d[0]! & 0x20) !== 0,
    device: DEVICE_CODES.get((d[1]! >> 2) & 0x0f) ?? 'other',
  };
}

/** Get System Boot Options response for parameter 5: version, parameter selector, 5 flag bytes. */
export function decodeBootOptionsResponse(d: Uint8Array): { parameter: number; flags: BootFlags } {
  if (d.length < 4) decodeFail('Get System Boot Options response', d.length, 4);
  return { parameter: d[1]! & 0x7f, flags: decodeBootFlags(d.subarray(2)) };
}

export function encodeBootOptionsResponse(f: BootFlags): Uint8Array {
  return Uint8Array.of(0x01, 0x05, ...encodeBootFlags(f));
}

// ---------------------------------------------------------------------------------------------
// Running commands on a session

async function run(s: IpmiSession, what: string, netFn: number, cmd: number, data: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
  const r = await s.request(netFn, cmd, data, opts);
  if (r.completionCode !== 0) throw classifyCompletion(s.target, what, r.completionCode);
  return r.data;
}

function decoded<T>(s: IpmiSession, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    throw new GoughError('bad-response', `BMC "${s.target}" sent an answer Gough cannot decode: ${(e as Error).message}`, {
      retry: { kind: 'backoff' },
      cause: e,
    });
  }
}

export async function getDeviceId(s: IpmiSession, opts: RequestOptions = {}): Promise<DeviceId> {
  const d = await run(s, 'Get Device ID', NETFN.app, CMD.getDeviceId, new Uint8Array(0), opts);
  return decoded(s, () => decodeDeviceId(d));
}

export async function getChassisStatus(s: IpmiSession, opts: RequestOptions = {}): Promise<ChassisStatus> {
  const d = await run(s, 'Get Chassis Status', NETFN.chassis, CMD.getChassisStatus, new Uint8Array(0), opts);
  return decoded(s, () => decodeChassisStatus(d));
}

export async function chassisControl(s: IpmiSession, op: ChassisControlOp, opts: RequestOptions = {}): Promise<void> {
  await run(s, `Chassis Control (${op})`, NETFN.chassis, CMD.chassisControl, Uint8Array.of(CHASSIS_CONTROL[op]), opts);
}

export async function getBootFlags(s: IpmiSession, opts: RequestOptions = {}): Promise<BootFlags> {
  const d = await run(s, 'Get System Boot Options', NETFN.chassis, CMD.getSystemBootOptions, Uint8Array.of(0x05, 0x00, 0x00), opts);
  return decoded(s, () => decodeBootOptionsResponse(d).flags);
}

/**
 * Sets the boot device: clears the boot-flags-valid bit first, sets boot-info-acknowledge (so BIOS sees fresh
 * flags), then writes valid flags. Parameter 0 ("set in progress") is not used: many BMCs (ipmi_sim) reject it.
 */
export async function setBootDevice(
  s: IpmiSession,
  device: BootDevice,
  boot: { persistent?: boolean | undefined; efi?: boolean | undefined },
  opts: RequestOptions = {},
): Promise<void> {
  const what = 'Set System Boot Options';
  await run(s, what, NETFN.chassis, CMD.setSystemBootOptions, Uint8Array.of(0x05, 0, 0, 0, 0, 0), opts);
  await run(s, what, NETFN.chassis, CMD.setSystemBootOptions, Uint8Array.of(0x04, 0x01, 0x01), opts);
  const flags = encodeBootFlags({ valid: true, persistent: boot.persistent ?? false, efi: boot.efi ?? false, device });
  await run(s, what, NETFN.chassis, CMD.setSystemBootOptions, Uint8Array.of(0x05, ...flags), opts);
}
