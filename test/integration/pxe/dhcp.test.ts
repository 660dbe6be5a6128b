import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NetnsPair, createNetnsPair, requireTools, waitFor } from '../../support/netns.js';
import { ROOT, type Served, desired, host, servePxe, site } from './fixture.js';

const W = mkdtempSync(join(tmpdir(), 'gough-dhcp-'));
const DHCLIENT_SCRIPT = join(W, 'dhclient-script.sh');
const UDHCPC_SCRIPT = join(W, 'udhcpc.sh');
writeFileSync(
  DHCLIENT_SCRIPT,
  `#!/bin/sh
echo "reason=$reason ip=$new_ip_address mask=$new_subnet_mask routers=$new_routers dns=$new_domain_name_servers file=$new_filename next=$new_next_server server=$new_dhcp_server_identifier host=$new_host_name" >> ${W}/dhclient.log
case $reason in BOUND|RENEW|REBIND|REBOOT) ip addr add $new_ip_address/24 dev $interface 2>/dev/null ;; EXPIRE|RELEASE|STOP) ip addr flush dev $interface ;; esac
exit 0
`,
);
writeFileSync(
  UDHCPC_SCRIPT,
  `#!/bin/sh
echo "event=$1 ip=$ip mask=$mask router=$router dns=$dns siaddr=$siaddr boot_file=$boot_file bootfile=$bootfile tftp=$tftp serverid=$serverid" >> ${W}/udhcpc.log
exit 0
`,
);
chmodSync(DHCLIENT_SCRIPT, 0o755);
chmodSync(UDHCPC_SCRIPT, 0o755);

const S = site();
const HOSTS = desired(S, [
  host(1, { address: '10.250.0.11' }),
  host(2, { address: '10.250.0.12', firmware: 'uefi' }),
  host(3),
  host(4),
]);

let ns: NetnsPair;
let served: Served;

function udhcpc(extra: string[] = []): { ok: boolean; log: string } {
  writeFileSync(join(W, 'udhcpc.log'), '');
  let ok = true;
  try {
    ns.exec(ns.cli, 'busybox', [
      'udhcpc',
      '-i',
      'vcli',
      '-q',
      '-n',
      '-f',
      '-t',
      '3',
      '-T',
      '1',
      '-s',
      UDHCPC_SCRIPT,
      ...extra,
    ]);
  } catch {
    ok = false;
  }
  return { ok, log: readFileSync(join(W, 'udhcpc.log'), 'utf8') };
}

function setMac(mac: string): void {
  ns.exec(ns.cli, 'ip', ['addr', 'flush', 'dev', 'vcli']);
  ns.exec(ns.cli, 'ip', ['link', 'set', 'vcli', 'address', mac]);
}

describe('Gough DHCP with real clients (root, netns, dhclient, udhcpc)', () => {
  beforeAll(async () => {
    requireTools('ip', 'dhclient', 'busybox');
    ns = createNetnsPair('dh');
    served = await servePxe(ns, { site: S, hosts: HOSTS });
  });
  afterAll(async () => {
    await ns?.destroy();
  });

  it('dhclient gets the static address, router, DNS, next-server and boot file of its host', () => {
    setMac('52:54:00:25:00:01');
    const lease = join(W, 'dhclient.leases');
    writeFileSync(lease, '');
    writeFileSync(join(W, 'dhclient.log'), '');
    const args = ['-1', '-pf', join(W, 'dhclient.pid'), '-lf', lease, '-sf', DHCLIENT_SCRIPT, 'vcli'];
    ns.exec(ns.cli, 'dhclient', args);
    const log = readFileSync(join(W, 'dhclient.log'), 'utf8');
    expect(log).toContain(
      'reason=BOUND ip=10.250.0.11 mask=255.255.255.0 routers=10.250.0.1 dns=10.250.0.53 file=undionly.kpxe next=10.250.0.1 server=10.250.0.1 host=n01',
    );
    ns.exec(ns.cli, 'dhclient', ['-r', ...args]);
    expect(readFileSync(join(W, 'dhclient.log'), 'utf8')).toContain('reason=RELEASE');
  });

  it('udhcpc gets the UEFI boot file for a UEFI host, and the iPXE script URL when it says iPXE', () => {
    setMac('52:54:00:25:00:02');
    const plain = udhcpc();
    expect(plain.ok).toBe(true);
    expect(plain.log).toContain(
      'event=bound ip=10.250.0.12 mask=24 router=10.250.0.1 dns=10.250.0.53 siaddr=10.250.0.1 boot_file=ipxe.efi',
    );
    const ipxe = udhcpc(['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '77:69505845', '-x', '93:0007']);
    expect(ipxe.log).toContain('boot_file=http://10.250.0.1:8081/boot/52:54:00:25:00:02.ipxe');
  });

  it('an unknown MAC gets nothing', async () => {
    setMac('52:54:00:99:99:99');
    const r = udhcpc();
    expect(r.ok).toBe(false);
    expect(r.log).not.toContain('event=bound');
    // execFileSync blocked the event loop: let the server's output arrive.
    await waitFor('the ignored DISCOVER in the event log', 3000, () =>
      served.events().some((e) => e.kind === 'dhcp-ignored' && e.mac === '52:54:00:99:99:99'),
    );
    expect(served.events().filter((e) => e.mac === '52:54:00:99:99:99' && e.kind !== 'dhcp-ignored')).toEqual([]);
  });

  it('RELEASE frees a dynamic lease (persisted) for the next client', async () => {
    setMac('52:54:00:25:00:03');
    const lease = join(W, 'dh3.leases');
    writeFileSync(lease, '');
    writeFileSync(join(W, 'dhclient.log'), '');
    const args = ['-1', '-pf', join(W, 'dh3.pid'), '-lf', lease, '-sf', DHCLIENT_SCRIPT, 'vcli'];
    ns.exec(ns.cli, 'dhclient', args);
    expect(readFileSync(join(W, 'dhclient.log'), 'utf8')).toContain('reason=BOUND ip=10.250.0.100');
    const leases = () => JSON.parse(readFileSync(join(served.stateDir, 'leases.json'), 'utf8')).leases;
    await waitFor('lease file with the bound lease', 3000, () =>
      leases().some((l: { state: string }) => l.state === 'bound'),
    );
    ns.exec(ns.cli, 'dhclient', ['-r', ...args]);
    await waitFor('release event', 3000, () =>
      served.events().some((e) => e.kind === 'dhcp-release' && e.address === '10.250.0.100'),
    );
    await waitFor('lease file without the lease', 3000, () => leases().length === 0);
    setMac('52:54:00:25:00:04');
    expect(udhcpc().log).toContain('event=bound ip=10.250.0.100');
  });

  it('a relayed DISCOVER gets a unicast reply to the relay on port 67', () => {
    ns.exec(ns.cli, 'ip', ['addr', 'flush', 'dev', 'vcli']);
    ns.exec(ns.cli, 'ip', ['addr', 'add', '10.250.0.2/24', 'dev', 'vcli']);
    const script = `
      import { createSocket } from 'node:dgram';
      import * as d from '${ROOT}dist/drivers/pxe/index.js';
      const m = d.blankMessage(1);
      m.xid = 0x5eed; m.giaddr = '10.250.0.2'; m.hops = 1; m.chaddr = d.macToBytes('52:54:00:25:00:01');
      m.options.set(d.OPT.messageType, d.typeOption('DISCOVER'));
      const s = createSocket('udp4');
      s.bind(67, '10.250.0.2', () => s.send(d.encodeDhcp(m), 67, '10.250.0.1'));
      s.on('message', (b, r) => { const x = d.decodeDhcp(b);
        console.log(JSON.stringify({ from: r.address, type: d.messageTypeOf(x), yiaddr: x.yiaddr, giaddr: x.giaddr, xid: x.xid })); process.exit(0); });
      setTimeout(() => { console.log('TIMEOUT'); process.exit(1); }, 3000);`;
    const out = ns.exec(ns.cli, process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(out)).toEqual({
      from: '10.250.0.1',
      type: 'OFFER',
      yiaddr: '10.250.0.11',
      giaddr: '10.250.0.2',
      xid: 0x5eed,
    });
  });
});
