import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NetnsPair, createNetnsPair, requireTools, waitFor } from '../../support/netns.js';
import { ROOT, type Served, desired, host, servePxe, site } from './fixture.js';

const W = mkdtempSync(join(tmpdir(), 'gough-proxy-'));
let ns: NetnsPair;
let served: Served;
let dnsmasq: ReturnType<NetnsPair['spawnIn']>;

type Seen = {
  from: string;
  port: number;
  type: string;
  yiaddr: string;
  file: string;
  vendor?: string;
  server?: string;
  opt67?: string;
};

/** A PXE client crafted with Gough's codec: sends one message and collects every reply for `ms`. */
function pxeExchange(
  steps: { type: string; to: string; port: number; ciaddr?: string; serverId?: string; requested?: string }[],
  ms = 800,
): Seen[][] {
  const script = `
    import { createSocket } from 'node:dgram';
    import * as d from '${ROOT}dist/drivers/pxe/index.js';
    const steps = ${JSON.stringify(steps)};
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    const out = [];
    let cur = [];
    s.on('message', (b, r) => { try { const x = d.decodeDhcp(b); if (x.xid !== 0x77aa) return;
      cur.push({ from: r.address, port: r.port, type: d.messageTypeOf(x), yiaddr: x.yiaddr, file: x.file,
        vendor: d.readStringOption(x, 60), server: d.readIpOption(x, 54), opt67: d.readStringOption(x, 67) }); } catch {} });
    s.bind(68, () => { s.setBroadcast(true); next(0); });
    function next(i) {
      if (i > 0) { out.push(cur); cur = []; }
      if (i === steps.length) { console.log(JSON.stringify(out)); process.exit(0); }
      const st = steps[i];
      const m = d.blankMessage(1);
      m.xid = 0x77aa; m.flags = 0x8000; m.chaddr = d.macToBytes('52:54:00:25:00:01');
      if (st.ciaddr) m.ciaddr = st.ciaddr;
      m.options.set(d.OPT.messageType, d.typeOption(st.type));
      m.options.set(d.OPT.vendorClass, d.stringOption('PXEClient:Arch:00000:UNDI:002001'));
      m.options.set(d.OPT.clientArch, Uint8Array.of(0, 0));
      m.options.set(d.OPT.userClass, d.stringOption('iPXE'));
      if (st.serverId) m.options.set(d.OPT.serverId, d.ipOption(st.serverId));
      if (st.requested) m.options.set(d.OPT.requestedIp, d.ipOption(st.requested));
      s.send(d.encodeDhcp(m), st.port, st.to, () => setTimeout(() => next(i + 1), ${ms}));
    }`;
  return JSON.parse(ns.exec(ns.cli, process.execPath, ['--input-type=module', '-e', script]));
}

describe('Gough proxyDHCP alongside dnsmasq (root, netns, dnsmasq)', () => {
  beforeAll(async () => {
    requireTools('ip', 'dnsmasq');
    ns = createNetnsPair('px', { withProxy: { address: '10.250.0.3/24' } });
    ns.exec(ns.cli, 'ip', ['link', 'set', 'br0', 'address', '52:54:00:25:00:01']);
    ns.exec(ns.cli, 'ip', ['addr', 'add', '10.250.0.2/24', 'dev', 'br0']);
    ns.exec(ns.cli, 'ip', ['route', 'add', 'default', 'dev', 'br0']); // lets the client send to 255.255.255.255
    writeFileSync(
      join(W, 'dnsmasq.conf'),
      [
        'port=0',
        'interface=vsrv',
        'bind-interfaces',
        'dhcp-range=10.250.0.100,10.250.0.199,255.255.255.0,1h',
        'dhcp-option=option:router,10.250.0.1',
        `dhcp-leasefile=${W}/dnsmasq.leases`,
        'dhcp-authoritative',
        'no-ping',
        'log-dhcp',
        'log-facility=-',
        'user=root',
        '',
      ].join('\n'),
    );
    dnsmasq = ns.spawnIn(ns.srv, 'dnsmasq', [
      `--conf-file=${W}/dnsmasq.conf`,
      '--keep-in-foreground',
      `--pid-file=${W}/dnsmasq.pid`,
    ]);
    // dnsmasq logs its DHCP range once its DHCP socket is up; under load that comes well after "started".
    await waitFor('dnsmasq to serve DHCP', 10_000, () => /DHCP, IP range/.test(dnsmasq.output()));
    // A loaded machine sometimes loses the very first broadcast on the fresh bridge before dnsmasq sees it (a PXE
    // ROM would retransmit): wait until dnsmasq has answered one DISCOVER before Gough joins.
    await waitFor('dnsmasq to answer a DISCOVER', 20_000, () =>
      (pxeExchange([{ type: 'DISCOVER', to: '255.255.255.255', port: 67 }], 700)[0] ?? []).some((o) => o.server === '10.250.0.1'),
    );
    const S = site({ mode: 'proxy', bootServer: '10.250.0.3' });
    served = await servePxe(ns, { site: S, hosts: desired(S, [host(1)]) }, ns.prx);
  });
  afterAll(async () => {
    await ns?.destroy();
  });

  it('both answer a PXE DISCOVER: dnsmasq with an address, Gough with boot information only', () => {
    const [offers] = pxeExchange([{ type: 'DISCOVER', to: '255.255.255.255', port: 67 }], 2000);
    const fromDnsmasq = offers?.find((o) => o.server === '10.250.0.1');
    const fromGough = offers?.find((o) => o.server === '10.250.0.3');
    expect(fromDnsmasq?.type, `replies: ${JSON.stringify(offers)}\ndnsmasq said:\n${dnsmasq.output()}`).toBe('OFFER');
    expect(fromDnsmasq?.yiaddr).toMatch(/^10\.250\.0\.1\d\d$/);
    expect(fromGough).toMatchObject({
      type: 'OFFER',
      yiaddr: '0.0.0.0',
      vendor: 'PXEClient',
      file: 'http://10.250.0.3:8081/boot/52:54:00:25:00:01.ipxe',
      opt67: 'http://10.250.0.3:8081/boot/52:54:00:25:00:01.ipxe',
    });
  });

  it('Gough stays silent on the REQUEST to dnsmasq and ACKs the boot-server request on port 4011', async () => {
    const [offers] = pxeExchange([{ type: 'DISCOVER', to: '255.255.255.255', port: 67 }], 500);
    const address = offers?.find((o) => o.server === '10.250.0.1')?.yiaddr ?? '';
    const [acks, boot] = pxeExchange([
      { type: 'REQUEST', to: '255.255.255.255', port: 67, serverId: '10.250.0.1', requested: address },
      { type: 'REQUEST', to: '10.250.0.3', port: 4011, ciaddr: '10.250.0.2' },
    ]);
    expect(acks?.map((a) => [a.server, a.type])).toEqual([['10.250.0.1', 'ACK']]);
    expect(boot).toEqual([
      expect.objectContaining({
        from: '10.250.0.3',
        type: 'ACK',
        yiaddr: '0.0.0.0',
        file: 'http://10.250.0.3:8081/boot/52:54:00:25:00:01.ipxe',
      }),
    ]);
    await waitFor('proxy events', 2000, () => served.events().some((e) => e.kind === 'dhcp-ack'));
    expect(served.events().every((e) => e.address === undefined)).toBe(true);
  });
});
