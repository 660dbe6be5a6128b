/**
 * Many BMCs from one process: a BMC that never answers must not hold up the others (ipmi_sim).
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretResolver } from '../../../src/cli/secrets.js';
import { IpmiPowerDriver } from '../../../src/drivers/ipmi/index.js';
import type { Bmc } from '../../../src/model/index.js';
import type { GoughError } from '../../../src/model/index.js';
import { type IpmiSimFleet, startIpmiSims } from '../../support/ipmi-sim.js';

describe('IPMI driver with many BMCs at once (ipmi_sim)', () => {
  let fleet: IpmiSimFleet;
  let silent: Socket;

  beforeAll(async () => {
    fleet = await startIpmiSims(20);
    // a "BMC" that receives and never answers
    silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    silent?.close();
    await fleet?.stop();
  });

  it('20 good BMCs finish promptly while one silent BMC times out on its own', async () => {
    const driver = new IpmiPowerDriver(createSecretResolver({ PW: 'secret' }), { spacingMs: 0, pollIntervalMs: 100, timeoutMs: 1000, retries: 2 });
    const bmc = (port: number): Bmc => ({ driver: 'ipmi', address: '127.0.0.1', port, credentialsRef: { env: 'PW' } });
    const t0 = performance.now();
    const silentDone = driver.status(bmc(silent.address().port)).then(
      () => ({ ok: true, ms: performance.now() - t0, code: '' }),
      (e: GoughError) => ({ ok: false, ms: performance.now() - t0, code: e.code }),
    );
    const good = await Promise.all(
      fleet.bmcs.map(async (b) => {
        await driver.set(bmc(b.port), 'on');
        return performance.now() - t0;
      }),
    );
    const goodMs = Math.max(...good);
    for (const b of fleet.bmcs) expect(await b.actions()).toEqual(['set power 1']);
    const s = await silentDone;
    expect(s).toMatchObject({ ok: false, code: 'unreachable' });
    // the good ones were done long before the silent one gave up (3 attempts × 1 s)
    expect(goodMs).toBeLessThan(s.ms - 1000);
    expect(s.ms).toBeGreaterThanOrEqual(2900);
    await driver.close();
  });

  it('an aborted call on a silent BMC rejects at once with aborted', async () => {
    const driver = new IpmiPowerDriver(createSecretResolver({ PW: 'secret' }), { timeoutMs: 1000, retries: 5 });
    const ac = new AbortController();
    const t0 = performance.now();
    const p = driver.status({ driver: 'ipmi', address: '127.0.0.1', port: silent.address().port, credentialsRef: { env: 'PW' } }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    const e = await p.catch((x: GoughError) => x);
    expect((e as GoughError).code).toBe('aborted');
    expect(performance.now() - t0).toBeLessThan(1000);
    await driver.close();
  });
});
