/**
 * Full logins against an in-test RMCP+ BMC (built from Gough's codec): cipher suite 17, which no real peer here
 * offers; privilege fallback ADMINISTRATOR → OPERATOR; a busy BMC; a USER-only account.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { createSecretResolver } from '../../../src/cli/secrets.js';
import { IpmiPowerDriver, IpmiSession, getChassisStatus, getDeviceId } from '../../../src/drivers/ipmi/index.js';
import { type Bmc, GoughError } from '../../../src/model/index.js';
import { FakeBmc, type FakeBmcOptions } from './fake-bmc.js';

const fast = { spacingMs: 0, pollIntervalMs: 50, timeoutMs: 300, retries: 1, verifyDeadlineMs: 2000 };
let bmcs: FakeBmc[] = [];

async function bmcWith(o: Partial<FakeBmcOptions>): Promise<FakeBmc> {
  const b = await FakeBmc.start({ suite: 17, users: { admin: 'secret' }, ...o });
  bmcs.push(b);
  return b;
}

afterEach(async () => {
  await Promise.all(bmcs.map((b) => b.close()));
  bmcs = [];
});

const target = (b: FakeBmc, over: Partial<Bmc> = {}): Bmc => ({
  driver: 'ipmi',
  address: '127.0.0.1',
  port: b.port,
  credentialsRef: { env: 'PW' },
  cipher: 17,
  ...over,
});

describe('RMCP+ sessions against an in-test BMC', () => {
  it('logs in with cipher suite 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128) and runs commands', async () => {
    const b = await bmcWith({});
    const s = await IpmiSession.open({ host: '127.0.0.1', port: b.port, username: 'admin', password: 'secret', cipher: 17 });
    expect(s.privilege).toBe(4);
    expect((await getChassisStatus(s)).power).toBe('off');
    expect((await getDeviceId(s)).productId).toBe(0x1234);
    expect(b.sessions).toBe(1);
    await s.close();
    expect(b.sessions).toBe(0);
    expect(b.log.filter((l) => l.startsWith('drop'))).toEqual([]);
  });

  it('powers on through the driver with suite 17 and K_g', async () => {
    const b = await bmcWith({ kg: 'bmc-key-17' });
    const d = new IpmiPowerDriver(createSecretResolver({ PW: 'secret', KG: 'bmc-key-17' }), { ...fast, kgRef: { env: 'KG' } });
    await d.set(target(b), 'on');
    expect(b.power).toBe('on');
    await d.close();
    const wrong = new IpmiPowerDriver(createSecretResolver({ PW: 'secret', KG: 'other-key' }), { ...fast, kgRef: { env: 'KG' } });
    const e = await wrong.status(target(b)).catch((x: GoughError) => x);
    expect(e).toBeInstanceOf(GoughError);
    expect((e as GoughError).code).toBe('auth-failed');
    await wrong.close();
  });

  it('a suite-3 proposal to a suite-17-only BMC is refused, and driver cipher "auto" falls back the other way', async () => {
    const b17 = await bmcWith({});
    const e = await IpmiSession.open({ host: '127.0.0.1', port: b17.port, username: 'admin', password: 'secret', cipher: 3 }).catch((x: GoughError) => x);
    expect((e as GoughError).code).toBe('bad-response');
    expect((e as GoughError).message).toContain('No cipher suite match');
    const b3 = await bmcWith({ suite: 3 });
    const d = new IpmiPowerDriver(createSecretResolver({ PW: 'secret' }), { ...fast, cipher: 'auto' });
    expect(await d.status(target(b3, { cipher: undefined as never }))).toBe('off');
    expect(await d.status(target(b17, { cipher: undefined as never }))).toBe('off');
    await d.close();
  });

  it('falls back from ADMINISTRATOR to OPERATOR when the BMC refuses the role at RAKP 2', async () => {
    const b = await bmcWith({ maxPrivilege: 3 });
    const s = await IpmiSession.open({ host: '127.0.0.1', port: b.port, username: 'admin', password: 'secret', cipher: 17 });
    expect(s.privilege).toBe(3);
    expect(b.log.filter((l) => l.startsWith('rakp1'))).toEqual(['rakp1 user=admin role=20', 'rakp1 user=admin role=19']);
    await s.close();
  });

  it('falls back to OPERATOR when Set Session Privilege Level answers 0x81', async () => {
    const b = await bmcWith({ maxPrivilege: 3, refuseAt: 'set-privilege' });
    const s = await IpmiSession.open({ host: '127.0.0.1', port: b.port, username: 'admin', password: 'secret', cipher: 17 });
    expect(s.privilege).toBe(3);
    expect(b.log.filter((l) => l.startsWith('cmd 6/59'))).toEqual(['cmd 6/59 04', 'cmd 6/59 03']);
    // the refused session was closed before the second login
    expect(b.sessions).toBe(1);
    await s.close();
  });

  it('starts the login over when a lost RAKP 4 leaves the retransmitted RAKP 3 without a session', async () => {
    const b = await bmcWith({ dropFirstRakp4: true });
    const s = await IpmiSession.open({ host: '127.0.0.1', port: b.port, username: 'admin', password: 'secret', cipher: 17, timeoutMs: 150 });
    expect((await getChassisStatus(s)).power).toBe('off');
    expect(b.log.filter((l) => l.startsWith('open') || l.startsWith('rakp3'))).toEqual(['open privilege=4', 'rakp3 for unknown session', 'open privilege=4']);
    await s.close();
  });

  it('reports an account below OPERATOR as permission-denied, never retried', async () => {
    const b = await bmcWith({ maxPrivilege: 2 });
    const e = await IpmiSession.open({ host: '127.0.0.1', port: b.port, username: 'admin', password: 'secret', cipher: 17 }).catch((x: GoughError) => x);
    expect((e as GoughError).code).toBe('permission-denied');
    expect((e as GoughError).retry).toEqual({ kind: 'never' });
  });

  it('classifies node busy (0xC0) as busy with a retry-after', async () => {
    const b = await bmcWith({ controlCompletion: 0xc0 });
    const d = new IpmiPowerDriver(createSecretResolver({ PW: 'secret' }), fast);
    const e = await d.set(target(b), 'on').catch((x: GoughError) => x);
    expect((e as GoughError).code).toBe('busy');
    expect((e as GoughError).retry).toEqual({ kind: 'after', ms: 2000 });
    expect((e as GoughError).message).toContain('Node busy');
    await d.close();
  });

  it('fails verification when the BMC accepts the command but power never changes', async () => {
    const b = await bmcWith({ ignoreControl: true });
    const d = new IpmiPowerDriver(createSecretResolver({ PW: 'secret' }), { ...fast, verifyDeadlineMs: 400 });
    const e = await d.set(target(b), 'on').catch((x: GoughError) => x);
    expect((e as GoughError).code).toBe('verify-failed');
    expect((e as GoughError).retry).toEqual({ kind: 'backoff' });
    await d.close();
  });

  it('spaces state-changing operations on one BMC', async () => {
    const b = await bmcWith({});
    const d = new IpmiPowerDriver(createSecretResolver({ PW: 'secret' }), { ...fast, spacingMs: 400 });
    const t0 = performance.now();
    await d.set(target(b), 'on');
    await d.set(target(b), 'off');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    await d.close();
  });

  it('gough bmc --cipher 17 powers on a suite-17 BMC', async () => {
    const b = await bmcWith({});
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d) => {
      out += String(d);
    });
    const code = await main(['bmc', 'on', '--cipher', '17', '--json', '--address', `127.0.0.1:${b.port}`, '--password-env', 'PW'], {
      stdout,
      stderr: new PassThrough(),
      env: { PW: 'secret' },
      cwd: process.cwd(),
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ bmc: `127.0.0.1:${b.port}`, action: 'on', power: 'on' });
    expect(b.power).toBe('on');
  });
});
