/**
 * The same driver operations against a second, independent BMC implementation: pyghmi's server
 * (Debian python3-pyghmi), which has no power cycle and its own session-ID and sequence behaviour.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../../src/cli/secrets.js';
import { IpmiPowerDriver, IpmiSession, getChassisStatus } from '../../../src/drivers/ipmi/index.js';
import { type Bmc, GoughError } from '../../../src/model/index.js';
import { type PyghmiBmc, startPyghmiBmc } from '../../support/pyghmi-bmc.js';

const run = promisify(execFile);
const resolver = createSecretResolver({ IPMI_PW: 'secret', IPMI_BAD: 'not-secret-at-all' });
const fast = { spacingMs: 0, pollIntervalMs: 100, timeoutMs: 300, retries: 2, verifyDeadlineMs: 5000 };

describe('IPMI driver against pyghmi fakebmc (python3-pyghmi)', () => {
  let bmc: PyghmiBmc;
  let driver: IpmiPowerDriver;
  let target: Bmc;

  beforeAll(async () => {
    bmc = await startPyghmiBmc();
    driver = new IpmiPowerDriver(resolver, fast);
    target = { driver: 'ipmi', address: '127.0.0.1', port: bmc.port, credentialsRef: { env: 'IPMI_PW' } };
  });
  afterAll(async () => {
    await driver?.close();
    await bmc?.stop();
  });

  it('powers on and off once each, with the default user admin', async () => {
    expect(await driver.status(target)).toBe('off');
    await driver.set(target, 'on');
    await driver.set(target, 'on');
    expect(await driver.status(target)).toBe('on');
    const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(bmc.port), '-U', 'admin', '-P', 'secret', 'chassis', 'power', 'status']);
    expect(stdout).toContain('Chassis Power is on');
    await driver.set(target, 'off');
    await driver.set(target, 'off');
    expect(await bmc.actions()).toEqual(['power on', 'power off']);
  });

  it('cycles by off then on because pyghmi has no power cycle', async () => {
    await driver.set(target, 'on');
    await bmc.clearActions();
    await driver.set(target, 'cycle');
    expect(await bmc.actions()).toEqual(['power off', 'power on']);
    expect(await driver.status(target)).toBe('on');
  });

  it('resets and soft-stops', async () => {
    await bmc.clearActions();
    await driver.set(target, 'reset');
    await driver.set(target, 'soft');
    expect(await bmc.actions()).toEqual(['reset', 'shutdown']);
    expect(await driver.status(target)).toBe('off');
  });

  it('sets the boot device and reads it back', async () => {
    await bmc.clearActions();
    await driver.bootDevice(target, 'pxe', { efi: true });
    expect((await bmc.actions()).at(-1)).toBe('bootdev network');
    expect(await driver.bootFlags(target)).toMatchObject({ device: 'pxe', valid: true });
    await driver.bootDevice(target, 'disk', { persistent: true });
    expect((await bmc.actions()).at(-1)).toBe('bootdev hd');
    expect((await driver.bootFlags(target)).device).toBe('disk');
  });

  it('rejects a wrong password as auth-failed', async () => {
    const d = new IpmiPowerDriver(resolver, fast);
    const e = await d.status({ ...target, credentialsRef: { env: 'IPMI_BAD' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GoughError);
    expect((e as GoughError).code).toBe('auth-failed');
    expect((e as GoughError).message).not.toContain('not-secret-at-all');
    await d.close();
  });

  it('names the likely cause when pyghmi ignores RAKP 1 for an unknown user', async () => {
    const d = new IpmiPowerDriver(resolver, fast);
    const e = await d.status({ ...target, username: 'nobody' }).catch((x: unknown) => x);
    // pyghmi drops RAKP 1 for unknown users silently: indistinguishable from a lossy link, so retried with backoff
    expect((e as GoughError).code).toBe('unreachable');
    expect((e as GoughError).message).toContain('may not know user "nobody"');
    await d.close();
  });

  it('logs in with K_g against a pyghmi BMC that has one', async () => {
    const keyed = await startPyghmiBmc({ kg: 'pyghmi-kg' });
    try {
      const s = await IpmiSession.open({ host: '127.0.0.1', port: keyed.port, username: 'admin', password: 'secret', kg: 'pyghmi-kg' });
      expect((await getChassisStatus(s)).power).toBe('off');
      await s.close();
      const e = await IpmiSession.open({ host: '127.0.0.1', port: keyed.port, username: 'admin', password: 'secret', timeoutMs: 300, retries: 1 }).catch(
        (x: unknown) => x,
      );
      expect((e as GoughError).code).toBe('auth-failed');
    } finally {
      await keyed.stop();
    }
  });
});
