/**
 * The IPMI client and PowerDriver against real OpenIPMI `ipmi_sim` BMCs (Debian openipmi), cross-checked with
 * `ipmitool -I lanplus -C 3`. Effects are asserted as the BMC sees them: its chassis script's state files.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../../src/cli/secrets.js';
import { IpmiPowerDriver, IpmiSession, chassisControl, getChassisStatus } from '../../../src/drivers/ipmi/index.js';
import type { Bmc } from '../../../src/model/index.js';
import { GoughError } from '../../../src/model/index.js';
import { type IpmiSimFleet, type SimBmc, requireBinaries, startIpmiSims } from '../../support/ipmi-sim.js';
import { startDropProxy } from './drop-proxy.js';

const run = promisify(execFile);

const env = { IPMI_PW: 'secret', IPMI_BAD: 'wrong-horse-battery', IPMI_OPER: 'opsecret' };
const resolver = createSecretResolver(env);
const fast = { spacingMs: 0, pollIntervalMs: 100, timeoutMs: 300, retries: 2, verifyDeadlineMs: 5000, softDeadlineMs: 5000 };

function bmcOf(sim: { port: number }, over: Partial<Bmc> = {}): Bmc {
  return { driver: 'ipmi', address: '127.0.0.1', port: sim.port, username: 'admin', credentialsRef: { env: 'IPMI_PW' }, ...over };
}

async function ipmitool(sim: SimBmc, ...args: string[]): Promise<string> {
  const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(sim.port), '-U', 'admin', '-P', 'secret', ...args]);
  return stdout;
}

async function rejection(p: Promise<unknown>): Promise<GoughError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GoughError);
    return e as GoughError;
  }
  throw new Error('expected a rejection');
}

describe('IPMI driver against ipmi_sim (openipmi, ipmitool)', () => {
  let fleet: IpmiSimFleet;
  let sim: SimBmc;
  let driver: IpmiPowerDriver;

  beforeAll(async () => {
    requireBinaries('ipmi_sim', 'ipmitool');
    fleet = await startIpmiSims(2);
    sim = fleet.bmcs[0]!;
    driver = new IpmiPowerDriver(resolver, fast);
  });
  afterAll(async () => {
    await driver?.close();
    await fleet?.stop();
  });

  it('reads power off, then powers on once and ipmitool agrees', async () => {
    expect(await driver.status(bmcOf(sim))).toBe('off');
    expect(await ipmitool(sim, 'chassis', 'power', 'status')).toContain('Chassis Power is off');
    await driver.set(bmcOf(sim), 'on');
    expect(await sim.actions()).toEqual(['set power 1']);
    expect(await sim.power()).toBe('on');
    expect(await ipmitool(sim, 'chassis', 'power', 'status')).toContain('Chassis Power is on');
    // already on: the driver does not act again
    await driver.set(bmcOf(sim), 'on');
    expect(await sim.actions()).toEqual(['set power 1']);
  });

  it('cycles, resets, soft-stops and powers off, each as the BMC records it', async () => {
    await sim.setPower(true);
    await sim.clearActions();
    await driver.set(bmcOf(sim), 'cycle');
    expect(await sim.actions()).toEqual(['set power 0', 'set power 1']);
    expect(await sim.power()).toBe('on');

    await sim.clearActions();
    await driver.set(bmcOf(sim), 'reset');
    expect(await sim.actions()).toEqual(['set reset 1']);

    await sim.clearActions();
    await driver.set(bmcOf(sim), 'soft');
    expect(await sim.actions()).toEqual(['set shutdown 1']);
    expect(await sim.power()).toBe('off');
    expect(await ipmitool(sim, 'chassis', 'power', 'status')).toContain('Chassis Power is off');

    await sim.setPower(true);
    await sim.clearActions();
    await driver.set(bmcOf(sim), 'off');
    expect(await sim.actions()).toEqual(['set power 0']);
    await driver.set(bmcOf(sim), 'off');
    await driver.set(bmcOf(sim), 'soft');
    expect(await sim.actions()).toEqual(['set power 0']);
  });

  it('cycle or reset of a machine that is off powers it on', async () => {
    await sim.setPower(false);
    await sim.clearActions();
    await driver.set(bmcOf(sim), 'cycle');
    expect(await sim.actions()).toEqual(['set power 1']);
    await sim.setPower(false);
    await sim.clearActions();
    await driver.set(bmcOf(sim), 'reset');
    expect(await sim.actions()).toEqual(['set power 1']);
  });

  it('sets the boot device to PXE and disk, clearing the flags first', async () => {
    await sim.clearActions();
    await driver.bootDevice(bmcOf(sim), 'pxe', {});
    expect(await sim.boot()).toBe('pxe');
    // valid bit cleared (ipmi_sim hands "none" to the script), then PXE
    expect(await sim.actions()).toEqual(['set boot none', 'set boot pxe']);
    expect(await ipmitool(sim, 'chassis', 'bootparam', 'get', '5')).toContain('Force PXE');
    expect((await driver.bootFlags(bmcOf(sim))).device).toBe('pxe');

    await driver.bootDevice(bmcOf(sim), 'disk', { persistent: true, efi: true });
    expect(await sim.boot()).toBe('default'); // ipmi_sim's name for "hard drive" towards the script
    expect(await ipmitool(sim, 'chassis', 'bootparam', 'get', '5')).toContain('Force Boot from default Hard-Drive');
    expect((await driver.bootFlags(bmcOf(sim))).device).toBe('disk');
  });

  it('reads the device ID and chassis status details', async () => {
    const id = await driver.deviceId(bmcOf(sim));
    expect(id.ipmiVersion).toBe('2.0');
    expect(id.manufacturerId).toBe(0x1291);
    expect(id.productId).toBe(0xf02);
    const st = await driver.chassisStatus(bmcOf(sim));
    expect(st.powerFault).toBe(false);
    expect(['on', 'off']).toContain(st.power);
  });

  it('rejects a wrong password as auth-failed without naming the password (errors and logs)', async () => {
    const logs: string[] = [];
    const logger = { debug: (o: object, m: string) => logs.push(JSON.stringify([o, m])), warn: (o: object, m: string) => logs.push(JSON.stringify([o, m])) };
    const ok = new IpmiPowerDriver(resolver, { ...fast, logger });
    await ok.set(bmcOf(fleet.bmcs[1]!), 'off');
    await ok.close();
    expect(logs.join('\n')).toContain('IPMI session opened');
    const d = new IpmiPowerDriver(resolver, { ...fast, logger });
    const e = await rejection(d.status(bmcOf(sim, { credentialsRef: { env: 'IPMI_BAD' } })));
    expect(e.code).toBe('auth-failed');
    expect(e.retry).toEqual({ kind: 'never' });
    expect(e.message).not.toContain(env.IPMI_BAD);
    expect(e.message).not.toContain('secret');
    expect(JSON.stringify(e)).not.toContain(env.IPMI_BAD);
    expect(logs.join('\n')).not.toMatch(/wrong-horse-battery|"secret"/);
    await d.close();
  });

  it('rejects an unknown user as auth-failed', async () => {
    const d = new IpmiPowerDriver(resolver, fast);
    const e = await rejection(d.status(bmcOf(sim, { username: 'nobody' })));
    expect(e.code).toBe('auth-failed');
    expect(e.message).toContain('"nobody"');
    expect(e.message).not.toContain('secret');
    await d.close();
  });

  it('classifies a command refused for privilege as permission-denied (USER-level session)', async () => {
    const s = await IpmiSession.open({ host: '127.0.0.1', port: sim.port, username: 'viewer', password: 'vsecret', privilege: 2 });
    try {
      expect((await getChassisStatus(s)).power).toMatch(/on|off/);
      const e = await rejection(chassisControl(s, 'on'));
      expect(e.code).toBe('permission-denied');
      expect(e.retry.kind).toBe('never');
    } finally {
      await s.close();
    }
  });

  it('reports a port nobody listens on as unreachable, quickly', async () => {
    const d = new IpmiPowerDriver(resolver, fast);
    const t0 = Date.now();
    const e = await rejection(d.status(bmcOf({ port: 9 })));
    expect(e.code).toBe('unreachable');
    expect(e.retry).toEqual({ kind: 'backoff' });
    expect(Date.now() - t0).toBeLessThan(2000);
    await d.close();
  });

  it('logs in and works through a link that drops the first 4 packets', async () => {
    const proxy = await startDropProxy({ address: '127.0.0.1', port: fleet.bmcs[1]!.port }, { dropFirst: 4 });
    try {
      const s = await IpmiSession.open({ host: '127.0.0.1', port: proxy.port, username: 'admin', password: 'secret', timeoutMs: 200, retries: 5 });
      expect((await getChassisStatus(s)).power).toBe('off');
      await s.close();
      expect(proxy.dropped()).toBe(4);
    } finally {
      await proxy.close();
    }
  });

  it('reuses one session per BMC and ends it with Close Session (BMC active-session count drops)', async () => {
    const observer = await IpmiSession.open({ host: '127.0.0.1', port: sim.port, username: 'admin', password: 'secret' });
    // Get Session Info (app 0x3D), index 0: byte 2 = currently active sessions
    const active = async () => (await observer.request(0x06, 0x3d, Uint8Array.of(0))).data[2]! & 0x3f;
    try {
      const before = await active();
      const d = new IpmiPowerDriver(resolver, fast);
      for (let i = 0; i < 5; i++) await d.status(bmcOf(sim));
      expect(d.sessionCount).toBe(1);
      expect(await active()).toBe(before + 1);
      await d.close();
      expect(d.sessionCount).toBe(0);
      expect(await active()).toBe(before);
    } finally {
      await observer.close();
    }
  });

  it('logs in with the BMC key K_g and rejects a wrong one (ipmi_sim bmc_key)', async () => {
    const keyed = await startIpmiSims(1, { bmcKey: 'gough-kg-123' });
    try {
      const port = keyed.bmcs[0]!.port;
      const s = await IpmiSession.open({ host: '127.0.0.1', port, username: 'admin', password: 'secret', kg: 'gough-kg-123' });
      expect((await getChassisStatus(s)).power).toBe('off');
      await s.close();
      const e = await rejection(IpmiSession.open({ host: '127.0.0.1', port, username: 'admin', password: 'secret', kg: 'not-the-key' }));
      expect(e.code).toBe('auth-failed');
      expect(e.message).not.toContain('not-the-key');
      const d = new IpmiPowerDriver(createSecretResolver({ ...env, KG: 'gough-kg-123' }), { ...fast, kgRef: { env: 'KG' } });
      await d.set(bmcOf({ port }), 'on');
      expect(await keyed.bmcs[0]!.actions()).toEqual(['set power 1']);
      await d.close();
    } finally {
      await keyed.stop();
    }
  });

  it('keeps a cached session alive with Get Device ID while idle, and closes it after the idle limit', async () => {
    const proxy = await startDropProxy({ address: '127.0.0.1', port: fleet.bmcs[1]!.port });
    try {
      const d = new IpmiPowerDriver(resolver, { ...fast, keepaliveMs: 1000, idleCloseMs: 3000 });
      await d.status(bmcOf(proxy));
      const afterLogin = proxy.forwarded();
      await new Promise((r) => setTimeout(r, 2300));
      // keepalives went to the BMC while nobody used the driver, and the session still works
      expect(proxy.forwarded()).toBeGreaterThanOrEqual(afterLogin + 1);
      expect(d.sessionCount).toBe(1);
      expect(await d.status(bmcOf(proxy))).toBe('off');
      await new Promise((r) => setTimeout(r, 4700));
      expect(d.sessionCount).toBe(0);
      await d.close();
    } finally {
      await proxy.close();
    }
  });
});
