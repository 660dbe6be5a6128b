/**
 * The DHCP responder: a pure state machine from a decoded request to a reply (RFC 2131 §4.3) plus lease
 * bookkeeping. No sockets, no clock (callers pass `now`); `server.ts` does the I/O, `leases.ts` the persistence.
 */
import {
  BROADCAST_FLAG,
  type DhcpMessage,
  OPT,
  blankMessage,
  encodeDhcp,
  intToIp,
  ipListOption,
  ipOption,
  ipToInt,
  macOf,
  messageTypeOf,
  readClientArch,
  readIpOption,
  readStringOption,
  readUserClasses,
  stringOption,
  typeOption,
  u32Option,
} from './codec.js';

/** A host the repo declares: where it boots from and what it gets. */
export type DhcpHost = {
  host: string;
  mac: string;
  hostname: string;
  /** Static address; without one the host gets one from the pool. */
  address?: string;
  router?: string;
  dns?: string[];
  firmware: 'bios' | 'uefi';
  arch: 'amd64' | 'arm64';
};

export type BootFiles = { bios: string; uefi: string; arm64: string };
export const DEFAULT_BOOT_FILES: BootFiles = {
  bios: 'undionly.kpxe',
  uefi: 'ipxe.efi',
  arm64: 'ipxe-arm64.efi',
};

export type ResponderConfig = {
  /** `dhcp` hands out addresses; `proxy` only boot information to PXE clients (another server gives addresses). */
  mode: 'dhcp' | 'proxy';
  /** This server's address: server identifier (54), next-server (siaddr, 66) and HTTP boot host. */
  serverId: string;
  /** CIDR of the provisioning network, e.g. 10.250.0.0/24. */
  subnet: string;
  router?: string;
  dns?: string[];
  domain?: string;
  range?: { start: string; end: string };
  leaseSeconds?: number;
  /** How long an offered address stays reserved for the client (default 60 s). */
  offerSeconds?: number;
  /** How long a declined address is kept out of the pool (default 600 s). */
  declineSeconds?: number;
  httpPort: number;
  bootFiles?: Partial<BootFiles>;
  /** Answer unknown MACs from the pool and boot them into discovery. */
  discover?: boolean;
  hosts: readonly DhcpHost[];
};

export type Lease = {
  mac: string;
  address: string;
  state: 'offered' | 'bound' | 'declined';
  /** Epoch ms. */
  expiresAt: number;
  host?: string;
};

export type DhcpEventKind =
  | 'dhcp-offer'
  | 'dhcp-ack'
  | 'dhcp-nak'
  | 'dhcp-release'
  | 'dhcp-decline'
  | 'dhcp-inform'
  | 'dhcp-ignored';

export type DhcpEvent = {
  kind: DhcpEventKind;
  at: string;
  mac: string;
  host?: string;
  address?: string;
  bootFile?: string;
  /** Unknown MAC answered because discovery is on. */
  discovered?: boolean;
  reason?: string;
};

export type Destination = { address: string; port: number; broadcast: boolean };
export type Reply = {
  message: DhcpMessage;
  bytes: Uint8Array;
  to: Destination;
};
export type RespondContext = {
  now: number;
  /** Port the request arrived on: 67, or 4011 for PXE boot-server requests (proxyDHCP). */
  port?: number;
  from?: { address: string; port: number };
};
export type Response = { reply?: Reply; events: DhcpEvent[] };

type Client = { mac: string; host: DhcpHost | undefined };

/** PXE architecture types (RFC 4578 §2.1, IANA) that boot UEFI x86 / ARM64 images. */
const UEFI_X86 = new Set([6, 7, 9, 15, 16]);
const UEFI_ARM64 = new Set([10, 11, 18, 19]);

export function parseCidr(cidr: string): {
  network: number;
  mask: number;
  prefix: number;
} {
  const [ip, p] = cidr.split('/');
  const prefix = Number(p ?? 32);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (ipToInt(ip ?? '') & mask) >>> 0, mask, prefix };
}

export function isPxeClient(req: DhcpMessage): boolean {
  return (readStringOption(req, OPT.vendorClass) ?? '').startsWith('PXEClient');
}

export function isIpxe(req: DhcpMessage): boolean {
  return readUserClasses(req).includes('iPXE') || req.options.has(175);
}

export class DhcpResponder {
  readonly #cfg: ResponderConfig;
  readonly #byMac = new Map<string, DhcpHost>();
  readonly #leases = new Map<string, Lease>(); // by mac
  readonly #byAddr = new Map<string, Lease>();
  /** Lowest pool address that may be free (allocation scans from here, then wraps). */
  #hint = 0;
  readonly #declined = new Map<string, number>(); // address -> until
  readonly #static = new Set<number>();
  readonly #net: { network: number; mask: number; prefix: number };
  readonly #boot: BootFiles;

  constructor(cfg: ResponderConfig) {
    this.#cfg = cfg;
    this.#net = parseCidr(cfg.subnet);
    this.#boot = { ...DEFAULT_BOOT_FILES, ...cfg.bootFiles };
    for (const h of cfg.hosts) {
      this.#byMac.set(h.mac.toLowerCase(), h);
      if (h.address !== undefined) this.#static.add(ipToInt(h.address));
    }
  }

  get config(): ResponderConfig {
    return this.#cfg;
  }

  /** Active leases (offered and bound), sorted by address. */
  leases(now: number): Lease[] {
    return [...this.#byAddr.values()]
      .filter((l) => l.expiresAt > now)
      .map((l) => [ipToInt(l.address), l] as const)
      .sort((a, b) => a[0] - b[0])
      .map(([, l]) => l);
  }

  /** Restores leases (from `leases.ts`); expired ones and ones outside the pool are dropped. */
  restore(leases: readonly Lease[], now: number): void {
    for (const l of leases) {
      if (l.expiresAt <= now) continue;
      if (l.state === 'declined') this.#declined.set(l.address, l.expiresAt);
      else if (this.#inPool(ipToInt(l.address))) this.#setLease(l.mac, { ...l });
    }
  }

  /** Everything persistence needs: leases and declined addresses. */
  snapshot(now: number): Lease[] {
    const declined: Lease[] = [...this.#declined]
      .filter(([, until]) => until > now)
      .map(([address, until]) => ({
        mac: '',
        address,
        state: 'declined',
        expiresAt: until,
      }));
    return [...this.leases(now), ...declined];
  }

  /** The unexpired lease holding `address`, if any. */
  leaseAt(address: string, now: number): Lease | undefined {
    const l = this.#byAddr.get(address);
    return l !== undefined && l.expiresAt > now ? l : undefined;
  }

  #calls = 0;

  /** Drops expired leases (kept a while only so a returning client gets its old address back). */
  #prune(now: number): void {
    const grace = (this.#cfg.leaseSeconds ?? 3600) * 1000;
    for (const [mac, l] of this.#leases) if (l.expiresAt + grace < now) this.#deleteLease(mac);
  }

  respond(req: DhcpMessage, ctx: RespondContext): Response {
    if (++this.#calls % 4096 === 0) this.#prune(ctx.now);
    if (req.op !== 1 || req.hlen !== 6 || req.htype !== 1) return { events: [] };
    const type = messageTypeOf(req);
    if (type === undefined) return { events: [] };
    const mac = macOf(req);
    const client: Client = { mac, host: this.#byMac.get(mac) };
    if (this.#cfg.mode === 'proxy') return this.#proxy(req, type, client, ctx);
    switch (type) {
      case 'DISCOVER':
        return this.#discover(req, client, ctx);
      case 'REQUEST':
        return this.#request(req, client, ctx);
      case 'DECLINE':
        return this.#decline(req, client, ctx);
      case 'RELEASE':
        return this.#release(req, client, ctx);
      case 'INFORM':
        return this.#inform(req, client, ctx);
      default:
        return { events: [] };
    }
  }

  // -------------------------------------------------------------------------------------------

  #event(kind: DhcpEventKind, client: Client, now: number, extra: Partial<DhcpEvent> = {}): DhcpEvent {
    const e: DhcpEvent = {
      kind,
      at: new Date(now).toISOString(),
      mac: client.mac,
    };
    if (client.host !== undefined) e.host = client.host.host;
    else if (this.#cfg.discover === true) e.discovered = true;
    return { ...e, ...extra };
  }

  #known(client: Client): boolean {
    return client.host !== undefined || this.#cfg.discover === true;
  }

  #ignored(client: Client, now: number, reason: string): Response {
    return { events: [this.#event('dhcp-ignored', client, now, { reason })] };
  }

  #setLease(mac: string, lease: Lease): void {
    const old = this.#leases.get(mac);
    if (old !== undefined && old.address !== lease.address && this.#byAddr.get(old.address) === old) {
      this.#byAddr.delete(old.address);
      this.#hint = Math.min(this.#hint, ipToInt(old.address));
    }
    this.#leases.set(mac, lease);
    this.#byAddr.set(lease.address, lease);
  }

  #deleteLease(mac: string): void {
    const old = this.#leases.get(mac);
    if (old === undefined) return;
    this.#leases.delete(mac);
    if (this.#byAddr.get(old.address) === old) this.#byAddr.delete(old.address);
    this.#hint = Math.min(this.#hint, ipToInt(old.address));
  }

  #inPool(a: number): boolean {
    const r = this.#cfg.range;
    if (r === undefined) return false;
    return a >= ipToInt(r.start) && a <= ipToInt(r.end);
  }

  #inSubnet(ip: string): boolean {
    return (ipToInt(ip) & this.#net.mask) >>> 0 === this.#net.network;
  }

  /** The address a client holds now (static, or an unexpired lease), if any. */
  #bindingOf(client: Client, now: number): string | undefined {
    if (client.host?.address !== undefined) return client.host.address;
    const l = this.#leases.get(client.mac);
    return l !== undefined && l.expiresAt > now ? l.address : undefined;
  }

  #free(a: number, now: number): boolean {
    if (this.#static.has(a)) return false;
    const ip = intToIp(a);
    if (ip === this.#cfg.serverId || ip === this.#cfg.router) return false;
    const d = this.#declined.get(ip);
    if (d !== undefined && d > now) return false;
    const l = this.#byAddr.get(ip);
    return l === undefined || l.expiresAt <= now;
  }

  /** Picks a pool address: the client's previous one when still free, else the lowest free one. */
  #allocate(client: Client, now: number, wanted?: string): string | undefined {
    const r = this.#cfg.range;
    if (r === undefined) return undefined;
    const prev = this.#leases.get(client.mac);
    if (prev !== undefined && (prev.expiresAt > now || this.#free(ipToInt(prev.address), now))) return prev.address;
    if (wanted !== undefined && this.#inPool(ipToInt(wanted)) && this.#free(ipToInt(wanted), now)) return wanted;
    const start = ipToInt(r.start);
    const end = ipToInt(r.end);
    const from = Math.min(Math.max(this.#hint, start), end + 1);
    for (let a = from; a <= end; a++) {
      if (this.#free(a, now)) {
        this.#hint = a + 1;
        return intToIp(a);
      }
    }
    // Wrap: expired leases below the hint are free again.
    for (let a = start; a < from; a++) {
      if (this.#free(a, now)) {
        this.#hint = a + 1;
        return intToIp(a);
      }
    }
    return undefined;
  }

  #bootFile(req: DhcpMessage, client: Client): string {
    if (isIpxe(req)) return `http://${this.#cfg.serverId}:${this.#cfg.httpPort}/boot/${client.mac}.ipxe`;
    const arch = readClientArch(req);
    if (arch !== undefined) {
      if (UEFI_X86.has(arch)) return this.#boot.uefi;
      if (UEFI_ARM64.has(arch)) return this.#boot.arm64;
      return this.#boot.bios;
    }
    const h = client.host;
    if (h?.firmware === 'uefi') return h.arch === 'arm64' ? this.#boot.arm64 : this.#boot.uefi;
    return this.#boot.bios;
  }

  #destination(req: DhcpMessage, type: string, ctx: RespondContext): Destination {
    if (req.giaddr !== '0.0.0.0') return { address: req.giaddr, port: 67, broadcast: false };
    if (ctx.port === 4011 && ctx.from !== undefined) return { ...ctx.from, broadcast: false };
    if (type !== 'NAK' && req.ciaddr !== '0.0.0.0') return { address: req.ciaddr, port: 68, broadcast: false };
    const bcast = intToIp((this.#net.network | (~this.#net.mask >>> 0)) >>> 0);
    return { address: bcast, port: 68, broadcast: true };
  }

  #reply(
    req: DhcpMessage,
    type: 'OFFER' | 'ACK' | 'NAK',
    client: Client,
    ctx: RespondContext,
    opts: {
      yiaddr?: string;
      lease?: boolean;
      boot?: boolean;
      message?: string;
    },
  ): Reply {
    const m = blankMessage(2);
    m.htype = req.htype;
    m.hlen = req.hlen;
    m.xid = req.xid;
    m.flags = req.flags & BROADCAST_FLAG;
    m.giaddr = req.giaddr;
    m.chaddr = Uint8Array.from(req.chaddr);
    m.yiaddr = opts.yiaddr ?? '0.0.0.0';
    if (type === 'ACK' && req.ciaddr !== '0.0.0.0' && opts.yiaddr === undefined) m.ciaddr = req.ciaddr;
    const o = m.options;
    o.set(OPT.messageType, typeOption(type));
    o.set(OPT.serverId, ipOption(this.#cfg.serverId));
    if (type === 'NAK') {
      if (opts.message !== undefined) o.set(OPT.message, stringOption(opts.message));
      return {
        message: m,
        bytes: encodeDhcp(m),
        to: this.#destination(req, 'NAK', ctx),
      };
    }
    if (opts.lease === true) {
      const secs = this.#cfg.leaseSeconds ?? 3600;
      o.set(OPT.leaseTime, u32Option(secs));
      o.set(OPT.renewalTime, u32Option(Math.floor(secs / 2)));
      o.set(OPT.rebindingTime, u32Option(Math.floor((secs * 7) / 8)));
    }
    if (this.#cfg.mode === 'dhcp') {
      o.set(OPT.subnetMask, ipOption(intToIp(this.#net.mask)));
      o.set(OPT.broadcast, ipOption(intToIp((this.#net.network | (~this.#net.mask >>> 0)) >>> 0)));
      const router = client.host?.router ?? this.#cfg.router;
      if (router !== undefined) o.set(OPT.router, ipOption(router));
      const dns = client.host?.dns ?? this.#cfg.dns;
      if (dns !== undefined && dns.length > 0) o.set(OPT.dns, ipListOption(dns));
      if (client.host !== undefined) o.set(OPT.hostname, stringOption(client.host.hostname));
      if (this.#cfg.domain !== undefined) o.set(OPT.domainName, stringOption(this.#cfg.domain));
    }
    if (opts.boot === true) {
      const file = this.#bootFile(req, client);
      m.siaddr = this.#cfg.serverId;
      m.file = file;
      o.set(OPT.tftpServer, stringOption(this.#cfg.serverId));
      o.set(OPT.bootFile, stringOption(file));
      if (isPxeClient(req)) {
        o.set(OPT.vendorClass, stringOption('PXEClient'));
        // PXE discovery control: boot file is in this packet, skip boot-server discovery (PXE spec 2.1 §2.4.7).
        o.set(OPT.vendorSpecific, Uint8Array.of(6, 1, 8, 255));
      }
    }
    return {
      message: m,
      bytes: encodeDhcp(m),
      to: this.#destination(req, type, ctx),
    };
  }

  #discover(req: DhcpMessage, client: Client, ctx: RespondContext): Response {
    const { now } = ctx;
    if (!this.#known(client)) return this.#ignored(client, now, 'unknown MAC');
    if (req.giaddr !== '0.0.0.0' && !this.#inSubnet(req.giaddr) && client.host?.address === undefined) {
      return this.#ignored(client, now, `relay "${req.giaddr}" is outside subnet "${this.#cfg.subnet}"`);
    }
    let address = client.host?.address;
    if (address === undefined) {
      address = this.#allocate(client, now, readIpOption(req, OPT.requestedIp));
      if (address === undefined) return this.#ignored(client, now, 'address pool exhausted');
      const cur = this.#leases.get(client.mac);
      const hold = (this.#cfg.offerSeconds ?? 60) * 1000;
      const keepBound = cur?.state === 'bound' && cur.address === address && cur.expiresAt > now;
      const lease: Lease = keepBound ? cur : { mac: client.mac, address, state: 'offered', expiresAt: now + hold };
      if (client.host !== undefined) lease.host = client.host.host;
      this.#setLease(client.mac, lease);
    }
    return this.#grant(req, 'OFFER', client, ctx, address);
  }

  #ack(req: DhcpMessage, client: Client, ctx: RespondContext, address: string): Response {
    const { now } = ctx;
    if (client.host?.address === undefined) {
      const lease: Lease = {
        mac: client.mac,
        address,
        state: 'bound',
        expiresAt: now + (this.#cfg.leaseSeconds ?? 3600) * 1000,
      };
      if (client.host !== undefined) lease.host = client.host.host;
      this.#setLease(client.mac, lease);
    }
    return this.#grant(req, 'ACK', client, ctx, address);
  }

  /** An OFFER or ACK of `address` with lease and boot options, and its event. */
  #grant(req: DhcpMessage, type: 'OFFER' | 'ACK', client: Client, ctx: RespondContext, address: string): Response {
    const reply = this.#reply(req, type, client, ctx, { yiaddr: address, lease: true, boot: true });
    const kind = type === 'OFFER' ? 'dhcp-offer' : 'dhcp-ack';
    return { reply, events: [this.#event(kind, client, ctx.now, { address, bootFile: reply.message.file })] };
  }

  #nak(req: DhcpMessage, client: Client, ctx: RespondContext, why: string): Response {
    const reply = this.#reply(req, 'NAK', client, ctx, { message: why });
    return {
      reply,
      events: [this.#event('dhcp-nak', client, ctx.now, { reason: why })],
    };
  }

  #request(req: DhcpMessage, client: Client, ctx: RespondContext): Response {
    const { now } = ctx;
    const server = readIpOption(req, OPT.serverId);
    const requested = readIpOption(req, OPT.requestedIp);
    if (server !== undefined && server !== this.#cfg.serverId) {
      // The client chose another server's offer (RFC 2131 §4.3.2): release what we offered, stay silent.
      const l = this.#leases.get(client.mac);
      if (l?.state === 'offered') this.#deleteLease(client.mac);
      return this.#ignored(client, now, `request for server "${server}"`);
    }
    if (!this.#known(client)) return this.#ignored(client, now, 'unknown MAC');
    const binding = this.#bindingOf(client, now);
    if (server !== undefined) {
      // SELECTING: must name the address we offered.
      const want = requested ?? (req.ciaddr !== '0.0.0.0' ? req.ciaddr : undefined);
      if (binding !== undefined && want === binding) return this.#ack(req, client, ctx, binding);
      return this.#nak(req, client, ctx, `address "${want ?? 'none'}" was not offered`);
    }
    if (requested !== undefined) {
      // INIT-REBOOT: verify the remembered address.
      if (binding !== undefined) {
        if (requested === binding) return this.#ack(req, client, ctx, binding);
        return this.#nak(req, client, ctx, `address "${requested}" is not this client's`);
      }
      if (!this.#inSubnet(requested))
        return this.#nak(req, client, ctx, `address "${requested}" is on another network`);
      if (this.#inPool(ipToInt(requested)) && this.#free(ipToInt(requested), now)) {
        return this.#ack(req, client, ctx, requested);
      }
      return this.#ignored(client, now, `no record of "${requested}"`);
    }
    if (req.ciaddr !== '0.0.0.0') {
      // RENEWING / REBINDING.
      if (binding === req.ciaddr) return this.#ack(req, client, ctx, binding);
      if (binding !== undefined) return this.#nak(req, client, ctx, `address "${req.ciaddr}" is not this client's`);
      return this.#ignored(client, now, `no record of "${req.ciaddr}"`);
    }
    return this.#ignored(client, now, 'request without server identifier, requested address or ciaddr');
  }

  #decline(req: DhcpMessage, client: Client, ctx: RespondContext): Response {
    const { now } = ctx;
    const server = readIpOption(req, OPT.serverId);
    if (server !== undefined && server !== this.#cfg.serverId) return { events: [] };
    const address = readIpOption(req, OPT.requestedIp);
    if (address === undefined || !this.#known(client)) return this.#ignored(client, now, 'decline without address');
    this.#declined.set(address, now + (this.#cfg.declineSeconds ?? 600) * 1000);
    const l = this.#leases.get(client.mac);
    if (l?.address === address) this.#deleteLease(client.mac);
    return { events: [this.#event('dhcp-decline', client, now, { address })] };
  }

  #release(req: DhcpMessage, client: Client, ctx: RespondContext): Response {
    const { now } = ctx;
    const server = readIpOption(req, OPT.serverId);
    if (server !== undefined && server !== this.#cfg.serverId) return { events: [] };
    const l = this.#leases.get(client.mac);
    if (l !== undefined && l.address === req.ciaddr) {
      this.#deleteLease(client.mac);
      return {
        events: [this.#event('dhcp-release', client, now, { address: l.address })],
      };
    }
    if (client.host?.address !== undefined && client.host.address === req.ciaddr) {
      return {
        events: [this.#event('dhcp-release', client, now, { address: req.ciaddr })],
      };
    }
    return this.#ignored(client, now, `release of unknown lease "${req.ciaddr}"`);
  }

  #inform(req: DhcpMessage, client: Client, ctx: RespondContext): Response {
    const { now } = ctx;
    if (!this.#known(client)) return this.#ignored(client, now, 'unknown MAC');
    if (req.ciaddr === '0.0.0.0') return this.#ignored(client, now, 'inform without ciaddr');
    const reply = this.#reply(req, 'ACK', client, ctx, { boot: true });
    return {
      reply,
      events: [this.#event('dhcp-inform', client, now, { address: req.ciaddr })],
    };
  }

  /** proxyDHCP (PXE spec §2.2.3): boot information only, to PXE clients only; never an address. */
  #proxy(req: DhcpMessage, type: string, client: Client, ctx: RespondContext): Response {
    const { now } = ctx;
    if (!isPxeClient(req)) return { events: [] };
    if (!this.#known(client)) return this.#ignored(client, now, 'unknown MAC');
    if (type === 'DISCOVER') {
      const reply = this.#reply(req, 'OFFER', client, ctx, { boot: true });
      return {
        reply,
        events: [
          this.#event('dhcp-offer', client, now, {
            bootFile: reply.message.file,
          }),
        ],
      };
    }
    if (type === 'REQUEST' || type === 'INFORM') {
      const server = readIpOption(req, OPT.serverId);
      if (ctx.port !== 4011 && server !== this.#cfg.serverId) return { events: [] };
      const reply = this.#reply(req, 'ACK', client, ctx, { boot: true });
      return {
        reply,
        events: [
          this.#event('dhcp-ack', client, now, {
            bootFile: reply.message.file,
          }),
        ],
      };
    }
    return { events: [] };
  }
}
