/**
 * The PXE provisioner against real parts: an ipmi_sim BMC whose power-on starts a qemu VM (iPXE ROM) in the client
 * namespace, Gough's PXE services in the server namespace, the IPMI PowerDriver. deploy = arm the gate, boot PXE,
 * power on, wait for the install to report done; release = gate cleared, power off (the VM is gone).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IpmiPowerDriver } from '../../../src/drivers/ipmi/index.js';
import { EventLog, GateStore, PxeProvisioner } from '../../../src/drivers/pxe/index.js';
import type { Action, DesiredHost } from '../../../src/model/index.js';
import { type IpmiSimFleet, startIpmiSims } from '../../support/ipmi-sim.js';
import { type NetnsPair, createNetnsPair, requireTools } from '../../support/netns.js';
import { type Served, desired, host, servePxe, site } from './fixture.js';

const W = mkdtempSync(join(tmpdir(), 'gough-prov-'));
const SEED = 'http://10.250.0.1:8081/cloud-init/$' + '{net0/mac}/';
let ns: NetnsPair;
let fleet: IpmiSimFleet;
let served: Served;
let target: DesiredHost;
let prov: PxeProvisioner;

const action = (kind: Action['kind']): Action => ({
  id: `a-${kind}`,
  host: 'edge1-n01',
  site: 'edge1',
  kind,
  reason: 'test',
  disruptive: true,
});

describe('PXE provisioner with ipmi_sim, qemu and the PXE services (root, netns, openipmi, qemu-system-x86, dnsmasq)', () => {
  beforeAll(async () => {
    requireTools('ip', 'qemu-system-x86_64', 'dnsmasq', 'ipmi_sim');
    ns = createNetnsPair('pv', { bridgeTaps: 1 });
    fleet = await startIpmiSims(1);
    const bmc = fleet.bmcs[0];
    if (bmc === undefined) throw new Error('no BMC');
    await bmc.setOnCommand(
      `ip netns exec ${ns.cli} qemu-system-x86_64 -accel tcg -m 128 -nographic -serial file:${W}/serial.txt -monitor none -no-reboot -boot n ` +
        '-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0,mac=52:54:00:25:00:01',
    );
    const files = join(W, 'http', 'files');
    mkdirSync(files, { recursive: true });
    writeFileSync(
      join(files, 'vmlinuz'),
      ['#!ipxe', `imgfetch ${SEED}user-data`, `imgfetch ${SEED}done`, 'echo FAKE-INSTALLER: done', ''].join('\n'),
    );
    writeFileSync(join(files, 'initrd'), 'x\n');
    writeFileSync(
      join(W, 'ra.conf'),
      [
        'port=0',
        'interface=vsrv',
        'bind-interfaces',
        'enable-ra',
        'dhcp-range=::,constructor:vsrv,ra-only,1h',
        'ra-param=vsrv,3,0',
        '',
      ].join('\n'),
    );
    ns.spawnIn(ns.srv, 'dnsmasq', [`--conf-file=${W}/ra.conf`, '--keep-in-foreground', `--pid-file=${W}/ra.pid`]);
    const S = site();
    const h = host(1, { address: '10.250.0.11' });
    h.spec.hardware.bmc = {
      driver: 'ipmi',
      address: bmc.address,
      port: bmc.port,
      username: 'admin',
      credentialsRef: { env: 'GOUGH_TEST_BMC' },
    };
    const hosts = desired(S, [h]);
    target = hosts[0] as DesiredHost;
    served = await servePxe(ns, { site: S, hosts, filesDir: join(W, 'http'), armDeployed: false });
    prov = new PxeProvisioner({
      gate: new GateStore(join(served.stateDir, 'gate.json')),
      events: new EventLog(join(served.stateDir, 'events.jsonl')),
      powerDriver: new IpmiPowerDriver(async () => 'secret', { spacingMs: 100, pollIntervalMs: 200 }),
      pollMs: 200,
    });
  });

  afterAll(async () => {
    await fleet?.stop();
    await ns?.destroy();
  });

  it('observes a ready, powered-off host before anything happens', async () => {
    const [o] = await prov.observe([target]);
    expect(o).toMatchObject({
      name: 'edge1-n01',
      lifecycle: 'ready',
      power: 'off',
      provider: { kind: 'pxe', id: '52:54:00:25:00:01' },
    });
  });

  it('deploy: boot PXE, power on, the VM installs and reports done; deployed with the specHash', async () => {
    const out = await prov.perform(action('deploy'), target, { deadlineMs: 60_000 });
    expect(out.observed).toMatchObject({
      lifecycle: 'deployed',
      power: 'on',
      deployedSpecHash: target.rendered.specHash,
    });
    const acts = await fleet.bmcs[0]?.actions();
    expect(acts?.some((a) => /set boot pxe/.test(a))).toBe(true);
    expect(acts?.some((a) => /set power 1/.test(a))).toBe(true);
    const kinds = served.events().map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['dhcp-ack', 'script-fetch', 'cloud-init-fetch', 'install-complete']));
  });

  it('deploy again is idempotent: no power action', async () => {
    await fleet.bmcs[0]?.clearActions();
    const out = await prov.perform(action('deploy'), target);
    expect(out.message).toMatch(/already runs specHash/);
    expect(await fleet.bmcs[0]?.actions()).toEqual([]);
  });

  it('release: gate cleared, next boot from disk, powered off (the VM is stopped)', async () => {
    const out = await prov.perform(action('release'), target, { deadlineMs: 30_000 });
    expect(out.observed).toMatchObject({ lifecycle: 'ready', power: 'off' });
    expect(await fleet.bmcs[0]?.power()).toBe('off');
    expect(await fleet.bmcs[0]?.boot()).toMatch(/disk|default|none/);
  });
});
