import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { MaasClient, MaasProvisioner } from '../../../src/drivers/maas/index.js';
import { type MaasEmulator, seedMachinesFromHosts, startMaasEmulator } from '../../../src/lab/index.js';
import type { Action, ActionKind } from '../../../src/model/index.js';
import { desired, host, site } from './helpers.js';

const action = (h: string, kind: ActionKind): Action => ({ id: `${h}-${kind}`, host: h, site: 'dc1', kind, reason: 'test', disruptive: false });

describe('MAAS provisioner lifecycle over HTTP (emulator)', () => {
  let emu: MaasEmulator;
  const h1 = host('web-01', 1);
  const h2 = host('web-02', 2);
  beforeAll(async () => {
    emu = await startMaasEmulator({ timeFactor: 0.01, machines: seedMachinesFromHosts([h1], { initial: 'new' }) });
  });
  afterAll(async () => {
    await emu.close();
  });

  it('drives New → Commissioning → Ready → Deploying → Deployed → Releasing → Ready', async () => {
    const s = site(emu.url);
    const client = new MaasClient({ url: emu.url, apiKey: emu.apiKey });
    const p = new MaasProvisioner({ client, site: s, pollIntervalMs: 20 });
    const d = desired(h1, s);
    {
      let [o] = await p.observe([d]);
      expect(o?.lifecycle).toBe('new');
      await p.perform(action('web-01', 'commission'), d);
      [o] = await p.observe([d]);
      expect(o?.lifecycle).toBe('ready');
      const out = await p.perform(action('web-01', 'deploy'), d);
      expect(out.observed?.lifecycle).toBe('deployed');
      [o] = await p.observe([d]);
      expect(o).toMatchObject({ name: 'web-01', lifecycle: 'deployed', power: 'on', deployedSpecHash: 'spec-aaaa1111', deployedRevision: 'rev-1' });
      expect(o?.os).toEqual({ distro: 'ubuntu', series: 'jammy' });
      const m = emu.machines().find((x) => x.hostname === 'web-01')!;
      expect(m._emulator.userData).toBe('#cloud-config\nhostname: web-01\n');
      // Deploy again with the same spec: already holds, no new deploy request.
      const deploysBefore = emu.requestLog().filter((e) => e.op === 'deploy').length;
      await p.perform(action('web-01', 'deploy'), d);
      expect(emu.requestLog().filter((e) => e.op === 'deploy').length).toBe(deploysBefore);
      await p.perform(action('web-01', 'release'), d);
      [o] = await p.observe([d]);
      expect(o?.lifecycle).toBe('ready');
      expect(o?.deployedSpecHash).toBeUndefined();
    }
    // MAAS's own event log records every status change ("Node changed status", DEBUG level).
    const events = await client.queryEvents({ hostname: ['web-01'], level: 'DEBUG', limit: 1000 });
    const changes = events
      .filter((e) => e.type === 'Node changed status')
      .reverse()
      .map((e) => /^From '(.*)' to '(.*)'$/.exec(e.description)?.slice(1, 3));
    const path = [changes[0]?.[0], ...changes.map((c) => c?.[1])];
    expect(path).toEqual(['New', 'Commissioning', 'Ready', 'Allocated', 'Deploying', 'Deployed', 'Releasing', 'Ready']);
    // Progress shows in status_message events along the way.
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['PXE Request', 'Loading ephemeral', 'Installation complete', 'Deployed']));
  });

  it('registers an absent host with its MACs and BMC credentials, then MAAS commissions it', async () => {
    const s = site(emu.url, { bmc: { driver: 'ipmi', username: 'gough', credentialsRef: { env: 'BMC_PASS' } } });
    const client = new MaasClient({ url: emu.url, apiKey: emu.apiKey });
    const p = new MaasProvisioner({ client, site: s, pollIntervalMs: 20, secrets: async () => 's3cret-pass' });
    const d = desired(h2, s);
    expect(await p.observe([d])).not.toContainEqual(expect.objectContaining({ name: 'web-02' }));
    await p.perform(action('web-02', 'register'), d);
    const m = emu.machines().find((x) => x.hostname === 'web-02')!;
    expect(m.architecture).toBe('amd64/generic');
    expect((m.interface_set as { mac_address: string }[]).map((i) => i.mac_address)).toEqual(h2.spec.hardware.macs);
    expect(m.power_type).toBe('ipmi');
    expect(m._emulator.powerParameters).toMatchObject({ power_address: '10.0.0.2', power_user: 'gough', power_pass: 's3cret-pass' });
    // Registering again resolves without a second create.
    await p.perform(action('web-02', 'register'), d);
    expect(emu.requestLog().filter((e) => e.method === 'POST' && e.path.endsWith('/machines/') && !e.op)).toHaveLength(1);
    await p.perform(action('web-02', 'commission'), d);
    const [o] = await p.observe([d]);
    expect(o?.lifecycle).toBe('ready');
  });

  it('registers into the site\'s zone and pool; orphans are limited to them, hosts are found anywhere', async () => {
    const s = site(emu.url, { maas: { url: emu.url, apiKeyRef: { env: 'K' }, zone: 'default', pool: 'production' } });
    const p = new MaasProvisioner({ client: new MaasClient({ url: emu.url, apiKey: emu.apiKey }), site: s, pollIntervalMs: 20 });
    const h3 = host('db-01', 3, { hostname: 'db-01.dc1.acme.internal' });
    emu.addMachine({ hostname: 'other-team', macs: ['02:00:00:00:00:31'], status: 'deployed', pool: 'research' });
    emu.addMachine({ hostname: 'stray', macs: ['02:00:00:00:00:32'], status: 'ready', pool: 'production' });
    await p.perform(action('db-01', 'register'), desired(h3, s));
    // MAAS hostnames are single labels: the FQDN's first label is registered.
    expect(emu.machines().find((m) => m.hostname === 'db-01')).toMatchObject({ fqdn: 'db-01.maas', pool: { name: 'production' } });
    const names = (await p.observe([desired(h1, s), desired(h3, s)])).map((o) => o.name).sort();
    // web-01 is in the default pool but still found by MAC; "other-team" is outside the pool and not an orphan here.
    expect(names).toEqual(['db-01', 'stray', 'web-01']);
  });

  it('resumes an interrupted deploy from what MAAS records, never issuing it twice', async () => {
    // A slower emulator of its own (a deploy takes ~1.7 s) so the interruption lands mid-deploy even on a busy host.
    const emu = await startMaasEmulator({ timeFactor: 0.05 });
    onTestFinished(() => emu.close());
    const s = site(emu.url);
    const h4 = host('app-01', 4);
    emu.addMachine({ hostname: 'app-01', macs: h4.spec.hardware.macs, status: 'ready' });
    const d = desired(h4, s, 'spec-bbbb2222');
    const first = new MaasProvisioner({ client: new MaasClient({ url: emu.url, apiKey: emu.apiKey }), site: s, pollIntervalMs: 20 });
    const ac = new AbortController();
    const running = first.perform(action('app-01', 'deploy'), d, { signal: ac.signal });
    // "Crash" the first daemon as soon as MAAS has accepted the deploy.
    for (let i = 0; i < 500 && !emu.requestLog().some((e) => e.op === 'deploy' && e.host === 'app-01'); i++) await new Promise((r) => setTimeout(r, 2));
    ac.abort();
    await expect(running).rejects.toMatchObject({ code: 'aborted' });
    const second = new MaasProvisioner({ client: new MaasClient({ url: emu.url, apiKey: emu.apiKey }), site: s, pollIntervalMs: 20 });
    const [seen] = await second.observe([d]);
    // MAAS already says which spec is being deployed.
    expect(seen).toMatchObject({ lifecycle: 'deploying', deployedSpecHash: 'spec-bbbb2222' });
    const out = await second.perform(action('app-01', 'deploy'), d);
    expect(out.message).toMatch(/^deployed \(resumed\)/);
    expect(emu.requestLog().filter((e) => e.op === 'deploy' && e.host === 'app-01')).toHaveLength(1);
  });

  it('redeploys a new spec (release with erase, then deploy) and power-cycles by off-then-on', async () => {
    const s = site(emu.url, { maas: { url: emu.url, apiKeyRef: { env: 'K' }, eraseOnRelease: true } });
    const h5 = host('app-02', 5);
    emu.addMachine({ hostname: 'app-02', macs: h5.spec.hardware.macs, status: 'ready' });
    const p = new MaasProvisioner({ client: new MaasClient({ url: emu.url, apiKey: emu.apiKey }), site: s, pollIntervalMs: 20 });
    await p.perform(action('app-02', 'deploy'), desired(h5, s, 'spec-old', 'rev-1'));
    await expect(p.perform(action('app-02', 'deploy'), desired(h5, s, 'spec-new', 'rev-2'))).rejects.toMatchObject({
      code: 'conflict',
      message: 'Cannot deploy host "app-02": it is already deployed with spec "spec-old"; a redeploy is needed',
    });
    emu.clearLog();
    const out = await p.perform(action('app-02', 'redeploy'), desired(h5, s, 'spec-new', 'rev-2'));
    expect(out.observed).toMatchObject({ lifecycle: 'deployed', deployedSpecHash: 'spec-new', deployedRevision: 'rev-2' });
    const ops = emu.requestLog().filter((e) => e.method === 'POST').map((e) => e.op);
    expect(ops).toEqual(['release', 'allocate', 'set_owner_data', 'deploy']);
    const events = await new MaasClient({ url: emu.url, apiKey: emu.apiKey }).queryEvents({ hostname: ['app-02'], limit: 100 });
    expect(events.map((e) => e.type)).toContain('Disk erasing');
    emu.clearLog();
    await p.perform(action('app-02', 'power-cycle'), desired(h5, s, 'spec-new', 'rev-2'));
    expect(emu.requestLog().filter((e) => e.method === 'POST').map((e) => e.op)).toEqual(['power_off', 'power_on']);
    const m = emu.machines().find((x) => x.hostname === 'app-02')!;
    expect([m.power_state, m._emulator.powerCycles]).toEqual(['on', 0]);
  });
});
