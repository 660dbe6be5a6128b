/**
 * End to end: a qemu VM (TCG, iPXE ROM) with the MAC of example-repo host edge-01 netboots from `gough pxe serve`
 * (the built CLI) in a network namespace, gets its rendered iPXE script over HTTP, and its "installer" fetches the
 * NoCloud seed and reports done. A second boot of the same machine then gets the boot-from-disk script.
 * The installer kernel is stood in for by an iPXE script at the kernel's path under --http-root: iPXE's `boot`
 * runs it like a kernel, and it does what an installer does over the network (fetch the seed, phone home).
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NetnsPair, createNetnsPair, requireTools, waitFor } from '../support/netns.js';
import { type Vm, startVm } from '../support/qemu.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const W = mkdtempSync(join(tmpdir(), 'gough-netboot-'));
const MAC = '52:54:00:25:00:01';
/** The NoCloud seed URL as the installer sees it; `${net0/mac}` is expanded by iPXE, not by JavaScript. */
const SEED = 'http://10.250.0.1:8081/cloud-init/$' + '{net0/mac}/';
let ns: NetnsPair;
let serve: ReturnType<NetnsPair['spawnIn']>;
const vms: Vm[] = [];

const lines = () => serve.output().split('\n');
const has = (re: RegExp) => lines().find((l) => re.test(l));

describe('PXE netboot end to end (root, netns, qemu-system-x86, ipxe-qemu, dnsmasq)', () => {
  beforeAll(async () => {
    requireTools('ip', 'qemu-system-x86_64', 'dnsmasq');
    if (!existsSync(join(ROOT, 'dist/cli/bin.js'))) throw new Error('Run `npm run build` first (npm test does)');
    const httpRoot = join(W, 'http');
    const kdir = join(httpRoot, 'debian/bookworm/debian-installer/amd64');
    mkdirSync(kdir, { recursive: true });
    writeFileSync(
      join(kdir, 'linux'),
      [
        '#!ipxe',
        'echo FAKE-INSTALLER: running, fetching the NoCloud seed',
        `imgfetch ${SEED}meta-data`,
        `imgfetch ${SEED}user-data`,
        `imgfetch ${SEED}done`,
        'echo FAKE-INSTALLER: install complete',
        '',
      ].join('\n'),
    );
    writeFileSync(join(kdir, 'initrd.gz'), 'not really an initrd\n');
    writeFileSync(
      join(W, 'ra.conf'),
      [
        'port=0',
        'interface=vsrv',
        'bind-interfaces',
        'enable-ra',
        'dhcp-range=::,constructor:vsrv,ra-only,1h',
        'ra-param=vsrv,3,0',
        'log-facility=-',
        '',
      ].join('\n'),
    );
    ns = createNetnsPair('nb', { bridgeTaps: 1 });
    // IPv6 router advertisements let iPXE finish autoconfiguration at once (otherwise ~13 s more).
    ns.spawnIn(ns.srv, 'dnsmasq', [`--conf-file=${W}/ra.conf`, '--keep-in-foreground', `--pid-file=${W}/ra.pid`]);
    serve = ns.spawnIn(ns.srv, process.execPath, [
      join(ROOT, 'dist/cli/bin.js'),
      'pxe',
      'serve',
      '--site',
      'edge1',
      '--repo',
      join(ROOT, 'example-repo'),
      '--interface',
      'vsrv',
      '--state-dir',
      join(W, 'state'),
      '--http-root',
      httpRoot,
    ]);
    await waitFor('gough pxe serve to listen', 15_000, () => {
      if (serve.exitCode !== null) throw new Error(`gough pxe serve exited: ${serve.output()}`);
      return has(/ serving site=edge1 /);
    });
  });

  afterAll(async () => {
    for (const vm of vms) await vm.kill();
    await ns?.destroy();
  });

  it('first boot: DHCP, the installer script over HTTP, the NoCloud seed, install complete', async () => {
    expect(has(/ serving /)).toMatch(/armed=.*edge-01/);
    const vm = startVm({ ns: ns.cli, tap: 'tap0', mac: MAC, serialFile: join(W, 'serial1.txt') });
    vms.push(vm);
    try {
      await waitFor('install-complete from edge-01', 40_000, () =>
        has(/ install-complete mac=52:54:00:25:00:01 host=edge-01 /),
      );
      await waitFor('the installer to finish on the console', 10_000, () =>
        vm.serial().includes('FAKE-INSTALLER: install complete'),
      );
    } finally {
      await vm.kill();
    }
    expect(
      has(
        / dhcp-offer mac=52:54:00:25:00:01 host=edge-01 address=10\.250\.0\.11 bootFile=http:\/\/10\.250\.0\.1:8081\/boot\/52:54:00:25:00:01\.ipxe/,
      ),
    ).toBeDefined();
    expect(has(/ dhcp-ack mac=52:54:00:25:00:01 host=edge-01 address=10\.250\.0\.11 /)).toBeDefined();
    expect(
      has(/ script-fetch mac=52:54:00:25:00:01 host=edge-01 address=10\.250\.0\.11 script=install specHash=/),
    ).toBeDefined();
    expect(has(/ cloud-init-fetch mac=52:54:00:25:00:01 host=edge-01 file=meta-data /)).toBeDefined();
    expect(has(/ cloud-init-fetch mac=52:54:00:25:00:01 host=edge-01 file=user-data /)).toBeDefined();
    expect(vm.serial()).toContain('Gough: installing edge-01');
    expect(vm.serial()).toContain('FAKE-INSTALLER: install complete');
  });

  it('second boot after install: the boot-from-disk script, never the installer again', async () => {
    const vm = startVm({ ns: ns.cli, tap: 'tap0', mac: MAC, serialFile: join(W, 'serial2.txt') });
    vms.push(vm);
    try {
      await waitFor('local-disk script for edge-01', 40_000, () =>
        has(/ script-fetch mac=52:54:00:25:00:01 host=edge-01 .*script=local-disk/),
      );
      await waitFor('the script on the console', 10_000, () =>
        vm.serial().includes('is provisioned, booting from local disk'),
      );
    } finally {
      await vm.kill();
    }
    expect(lines().filter((l) => / script-fetch .*script=install/.test(l))).toHaveLength(1);
  });
});
