import { describe, expect, it } from 'vitest';
import {
  type DhcpHost,
  DhcpResponder,
  OPT,
  type ResponderConfig,
  decodeDhcp,
  messageTypeOf,
  readIpOption,
  readStringOption,
} from '../../../src/drivers/pxe/index.js';
import { request } from './dhcp-helpers.js';

const HOSTS: DhcpHost[] = [
  {
    host: 'edge1-n01',
    mac: '52:54:00:25:00:01',
    hostname: 'n01',
    address: '10.250.0.11',
    firmware: 'bios',
    arch: 'amd64',
  },
  {
    host: 'edge1-n02',
    mac: '52:54:00:25:00:02',
    hostname: 'n02',
    address: '10.250.0.12',
    firmware: 'uefi',
    arch: 'amd64',
    router: '10.250.0.254',
    dns: ['9.9.9.9'],
  },
  {
    host: 'edge1-n03',
    mac: '52:54:00:25:00:03',
    hostname: 'n03',
    firmware: 'bios',
    arch: 'amd64',
  },
];
const BASE: ResponderConfig = {
  mode: 'dhcp',
  serverId: '10.250.0.1',
  subnet: '10.250.0.0/24',
  router: '10.250.0.1',
  dns: ['10.250.0.1'],
  domain: 'edge1.lab',
  range: { start: '10.250.0.100', end: '10.250.0.102' },
  leaseSeconds: 600,
  httpPort: 8080,
  hosts: HOSTS,
};
const T0 = Date.parse('2026-01-01T00:00:00Z');
const ctx = (now = T0) => ({ now, port: 67 });

function reply(r: ReturnType<DhcpResponder['respond']>) {
  if (r.reply === undefined) throw new Error('expected a reply');
  // What goes on the wire decodes to what was built.
  const m = decodeDhcp(r.reply.bytes);
  return { m, to: r.reply.to, type: messageTypeOf(m), bytes: r.reply.bytes };
}

describe('DHCP responder: static hosts', () => {
  it('offers and ACKs the static address with router, DNS, next-server and boot file', () => {
    const r = new DhcpResponder(BASE);
    const o = reply(r.respond(request('DISCOVER', '52:54:00:25:00:01'), ctx()));
    expect(o.type).toBe('OFFER');
    expect(o.m.yiaddr).toBe('10.250.0.11');
    expect(o.m.siaddr).toBe('10.250.0.1');
    expect(o.m.file).toBe('undionly.kpxe');
    expect(readStringOption(o.m, OPT.bootFile)).toBe('undionly.kpxe');
    expect(readStringOption(o.m, OPT.tftpServer)).toBe('10.250.0.1');
    expect(readIpOption(o.m, OPT.router)).toBe('10.250.0.1');
    expect(readIpOption(o.m, OPT.dns)).toBe('10.250.0.1');
    expect(readIpOption(o.m, OPT.subnetMask)).toBe('255.255.255.0');
    expect(readIpOption(o.m, OPT.serverId)).toBe('10.250.0.1');
    expect(readStringOption(o.m, OPT.hostname)).toBe('n01');
    expect(o.bytes.length).toBeGreaterThanOrEqual(300);
    expect(o.to).toEqual({
      address: '10.250.0.255',
      port: 68,
      broadcast: true,
    });
    const a = reply(
      r.respond(
        request('REQUEST', '52:54:00:25:00:01', {
          serverId: '10.250.0.1',
          requested: '10.250.0.11',
        }),
        ctx(),
      ),
    );
    expect(a.type).toBe('ACK');
    expect(a.m.yiaddr).toBe('10.250.0.11');
    expect([...(a.m.options.get(OPT.leaseTime) ?? [])]).toEqual([0, 0, 2, 88]);
  });

  it('uses per-host router and DNS, and the UEFI boot file for a UEFI host', () => {
    const r = new DhcpResponder(BASE);
    const o = reply(r.respond(request('DISCOVER', '52:54:00:25:00:02'), ctx()));
    expect(readIpOption(o.m, OPT.router)).toBe('10.250.0.254');
    expect(readIpOption(o.m, OPT.dns)).toBe('9.9.9.9');
    expect(o.m.file).toBe('ipxe.efi');
  });

  it('chooses the boot file by option 93 and user-class iPXE, and says PXEClient to PXE clients', () => {
    const r = new DhcpResponder(BASE);
    const mac = '52:54:00:25:00:01';
    const bios = reply(
      r.respond(
        request('DISCOVER', mac, {
          vendorClass: 'PXEClient:Arch:00000:UNDI:002001',
          arch: 0,
        }),
        ctx(),
      ),
    );
    expect(bios.m.file).toBe('undionly.kpxe');
    expect(readStringOption(bios.m, OPT.vendorClass)).toBe('PXEClient');
    const efi = reply(
      r.respond(
        request('DISCOVER', mac, {
          vendorClass: 'PXEClient:Arch:00007:UNDI:003016',
          arch: 7,
        }),
        ctx(),
      ),
    );
    expect(efi.m.file).toBe('ipxe.efi');
    const efi9 = reply(r.respond(request('DISCOVER', mac, { vendorClass: 'PXEClient', arch: 9 }), ctx()));
    expect(efi9.m.file).toBe('ipxe.efi');
    const ipxe = reply(
      r.respond(
        request('DISCOVER', mac, {
          vendorClass: 'PXEClient:Arch:00000',
          arch: 0,
          userClass: 'iPXE',
        }),
        ctx(),
      ),
    );
    expect(ipxe.m.file).toBe('http://10.250.0.1:8080/boot/52:54:00:25:00:01.ipxe');
    expect(readStringOption(ipxe.m, OPT.bootFile)).toBe(ipxe.m.file);
    const plain = reply(r.respond(request('DISCOVER', mac), ctx()));
    expect(plain.m.options.has(OPT.vendorClass)).toBe(false);
  });

  it('ignores unknown MACs', () => {
    const r = new DhcpResponder(BASE);
    const res = r.respond(request('DISCOVER', '52:54:00:99:99:99'), ctx());
    expect(res.reply).toBeUndefined();
    expect(res.events[0]).toMatchObject({
      kind: 'dhcp-ignored',
      reason: 'unknown MAC',
    });
    expect(
      r.respond(
        request('REQUEST', '52:54:00:99:99:99', {
          serverId: '10.250.0.1',
          requested: '10.250.0.100',
        }),
        ctx(),
      ).reply,
    ).toBeUndefined();
  });

  it('stays silent on a REQUEST for another server and frees its offer', () => {
    const r = new DhcpResponder(BASE);
    const o = reply(r.respond(request('DISCOVER', '52:54:00:25:00:03'), ctx()));
    expect(o.m.yiaddr).toBe('10.250.0.100');
    const res = r.respond(
      request('REQUEST', '52:54:00:25:00:03', {
        serverId: '10.250.0.254',
        requested: '10.250.0.77',
      }),
      ctx(),
    );
    expect(res.reply).toBeUndefined();
    expect(r.leases(T0)).toEqual([]);
  });

  it('NAKs a SELECTING request for an address it did not offer, broadcast', () => {
    const r = new DhcpResponder(BASE);
    const n = reply(
      r.respond(
        request('REQUEST', '52:54:00:25:00:01', {
          serverId: '10.250.0.1',
          requested: '10.250.0.50',
          ciaddr: '0.0.0.0',
        }),
        ctx(),
      ),
    );
    expect(n.type).toBe('NAK');
    expect(n.m.yiaddr).toBe('0.0.0.0');
    expect(n.to.broadcast).toBe(true);
  });

  it('INIT-REBOOT: ACKs the right address, NAKs a wrong one', () => {
    const r = new DhcpResponder(BASE);
    expect(reply(r.respond(request('REQUEST', '52:54:00:25:00:01', { requested: '10.250.0.11' }), ctx())).type).toBe(
      'ACK',
    );
    expect(reply(r.respond(request('REQUEST', '52:54:00:25:00:01', { requested: '10.250.0.99' }), ctx())).type).toBe(
      'NAK',
    );
  });

  it('RENEWING: ACKs unicast to ciaddr', () => {
    const r = new DhcpResponder(BASE);
    const a = reply(r.respond(request('REQUEST', '52:54:00:25:00:01', { ciaddr: '10.250.0.11' }), ctx()));
    expect(a.type).toBe('ACK');
    expect(a.to).toEqual({
      address: '10.250.0.11',
      port: 68,
      broadcast: false,
    });
  });

  it('answers INFORM with configuration but no address or lease time, to ciaddr', () => {
    const r = new DhcpResponder(BASE);
    const a = reply(r.respond(request('INFORM', '52:54:00:25:00:01', { ciaddr: '10.250.0.11' }), ctx()));
    expect(a.type).toBe('ACK');
    expect(a.m.yiaddr).toBe('0.0.0.0');
    expect(a.m.options.has(OPT.leaseTime)).toBe(false);
    expect(readIpOption(a.m, OPT.router)).toBe('10.250.0.1');
    expect(a.to.address).toBe('10.250.0.11');
  });

  it('replies to a relay at giaddr:67 (unicast)', () => {
    const r = new DhcpResponder(BASE);
    const o = reply(r.respond(request('DISCOVER', '52:54:00:25:00:01', { giaddr: '10.250.0.2' }), ctx()));
    expect(o.to).toEqual({ address: '10.250.0.2', port: 67, broadcast: false });
    expect(o.m.giaddr).toBe('10.250.0.2');
  });
});

describe('DHCP responder: dynamic pool', () => {
  const mac = '52:54:00:25:00:03';
  it('offers the lowest free pool address, binds it on REQUEST, and keeps it for the same client', () => {
    const r = new DhcpResponder(BASE);
    const o = reply(r.respond(request('DISCOVER', mac), ctx()));
    expect(o.m.yiaddr).toBe('10.250.0.100');
    expect(r.leases(T0)).toMatchObject([{ mac, address: '10.250.0.100', state: 'offered', host: 'edge1-n03' }]);
    reply(
      r.respond(
        request('REQUEST', mac, {
          serverId: '10.250.0.1',
          requested: '10.250.0.100',
        }),
        ctx(),
      ),
    );
    expect(r.leases(T0)).toMatchObject([{ state: 'bound', expiresAt: T0 + 600_000 }]);
    expect(reply(r.respond(request('DISCOVER', mac), ctx(T0 + 1000))).m.yiaddr).toBe('10.250.0.100');
  });

  it('RELEASE frees the lease for another client', () => {
    const r = new DhcpResponder({ ...BASE, discover: true });
    reply(r.respond(request('DISCOVER', mac), ctx()));
    reply(
      r.respond(
        request('REQUEST', mac, {
          serverId: '10.250.0.1',
          requested: '10.250.0.100',
        }),
        ctx(),
      ),
    );
    const other = '52:54:00:77:00:01';
    expect(reply(r.respond(request('DISCOVER', other), ctx())).m.yiaddr).toBe('10.250.0.101');
    const rel = r.respond(
      request('RELEASE', mac, {
        serverId: '10.250.0.1',
        ciaddr: '10.250.0.100',
      }),
      ctx(),
    );
    expect(rel.reply).toBeUndefined();
    expect(rel.events[0]).toMatchObject({
      kind: 'dhcp-release',
      address: '10.250.0.100',
    });
    expect(r.leases(T0).map((l) => l.address)).toEqual(['10.250.0.101']);
    expect(reply(r.respond(request('DISCOVER', '52:54:00:77:00:02'), ctx())).m.yiaddr).toBe('10.250.0.100');
  });

  it('DECLINE keeps the address out of the pool for a while', () => {
    const r = new DhcpResponder({
      ...BASE,
      declineSeconds: 10,
      discover: true,
    });
    reply(r.respond(request('DISCOVER', mac), ctx()));
    r.respond(
      request('DECLINE', mac, {
        serverId: '10.250.0.1',
        requested: '10.250.0.100',
      }),
      ctx(),
    );
    expect(reply(r.respond(request('DISCOVER', mac), ctx(T0 + 1))).m.yiaddr).toBe('10.250.0.101');
    const later = new DhcpResponder({
      ...BASE,
      declineSeconds: 10,
      discover: true,
    });
    later.restore(r.snapshot(T0 + 1), T0 + 5_000);
    expect(reply(later.respond(request('DISCOVER', '52:54:00:77:00:05'), ctx(T0 + 5_000))).m.yiaddr).toBe(
      '10.250.0.102',
    );
    expect(reply(later.respond(request('DISCOVER', '52:54:00:77:00:06'), ctx(T0 + 70_000))).m.yiaddr).toBe(
      '10.250.0.100',
    );
  });

  it('leases expire and the pool can be exhausted', () => {
    const r = new DhcpResponder({ ...BASE, discover: true, offerSeconds: 5 });
    for (const i of [1, 2, 3]) reply(r.respond(request('DISCOVER', `52:54:00:77:00:0${i}`), ctx()));
    const full = r.respond(request('DISCOVER', '52:54:00:77:00:09'), ctx());
    expect(full.reply).toBeUndefined();
    expect(full.events[0]?.reason).toBe('address pool exhausted');
    expect(reply(r.respond(request('DISCOVER', '52:54:00:77:00:09'), ctx(T0 + 6000))).m.yiaddr).toBe('10.250.0.100');
  });

  it('leases survive a restart through snapshot/restore', () => {
    const r = new DhcpResponder(BASE);
    reply(r.respond(request('DISCOVER', mac), ctx()));
    reply(
      r.respond(
        request('REQUEST', mac, {
          serverId: '10.250.0.1',
          requested: '10.250.0.100',
        }),
        ctx(),
      ),
    );
    const json = JSON.parse(JSON.stringify(r.snapshot(T0)));
    const r2 = new DhcpResponder(BASE);
    r2.restore(json, T0 + 1000);
    expect(reply(r2.respond(request('REQUEST', mac, { ciaddr: '10.250.0.100' }), ctx(T0 + 1000))).type).toBe('ACK');
    expect(reply(r2.respond(request('DISCOVER', '52:54:00:25:00:01'), ctx())).m.yiaddr).toBe('10.250.0.11');
  });

  it('with discover on, unknown MACs get a pool address and are marked discovered', () => {
    const r = new DhcpResponder({ ...BASE, discover: true });
    const res = r.respond(request('DISCOVER', '52:54:00:99:00:01', { userClass: 'iPXE' }), ctx());
    expect(reply(res).m.yiaddr).toBe('10.250.0.100');
    expect(reply(res).m.file).toBe('http://10.250.0.1:8080/boot/52:54:00:99:00:01.ipxe');
    expect(res.events[0]).toMatchObject({
      kind: 'dhcp-offer',
      discovered: true,
      mac: '52:54:00:99:00:01',
    });
  });
});

describe('DHCP responder: proxyDHCP', () => {
  const P: ResponderConfig = { ...BASE, mode: 'proxy' };
  it('answers PXE clients only, with boot information and no address', () => {
    const r = new DhcpResponder(P);
    expect(r.respond(request('DISCOVER', '52:54:00:25:00:01'), ctx()).reply).toBeUndefined();
    const o = reply(
      r.respond(
        request('DISCOVER', '52:54:00:25:00:01', {
          vendorClass: 'PXEClient:Arch:00000',
          arch: 0,
        }),
        ctx(),
      ),
    );
    expect(o.type).toBe('OFFER');
    expect(o.m.yiaddr).toBe('0.0.0.0');
    expect(o.m.file).toBe('undionly.kpxe');
    expect(o.m.options.has(OPT.leaseTime)).toBe(false);
    expect(o.m.options.has(OPT.router)).toBe(false);
    expect(readStringOption(o.m, OPT.vendorClass)).toBe('PXEClient');
  });

  it('ignores REQUESTs to the address server and ACKs boot-server requests on port 4011 to the sender', () => {
    const r = new DhcpResponder(P);
    const pxe = {
      vendorClass: 'PXEClient:Arch:00000',
      arch: 0,
      userClass: 'iPXE',
    };
    expect(
      r.respond(
        request('REQUEST', '52:54:00:25:00:01', {
          ...pxe,
          serverId: '10.250.0.2',
          requested: '10.250.0.150',
        }),
        ctx(),
      ).reply,
    ).toBeUndefined();
    const a = reply(
      r.respond(
        request('REQUEST', '52:54:00:25:00:01', {
          ...pxe,
          ciaddr: '10.250.0.150',
        }),
        { now: T0, port: 4011, from: { address: '10.250.0.150', port: 68 } },
      ),
    );
    expect(a.type).toBe('ACK');
    expect(a.m.yiaddr).toBe('0.0.0.0');
    expect(a.m.file).toBe('http://10.250.0.1:8080/boot/52:54:00:25:00:01.ipxe');
    expect(a.to).toEqual({
      address: '10.250.0.150',
      port: 68,
      broadcast: false,
    });
  });
});
