/**
 * One site's PXE services wired together: DHCP (or proxyDHCP), TFTP and HTTP boot, the gate and the event log.
 * `gough pxe serve` and the tests start it; it takes plain data (the site and its rendered hosts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type DesiredHost, GoughError, type Site, bootMacOf, hostnameOf } from '../../model/index.js';
import { PXE_HTTP_PORT_DEFAULT } from '../../render/index.js';
import { LeaseFile } from './dhcp/leases.js';
import { type DhcpHost, DhcpResponder } from './dhcp/responder.js';
import { DhcpServer } from './dhcp/server.js';
import { EventLog } from './event-log.js';
import type { BootEvent } from './events.js';
import { GateStore } from './gate.js';
import { createBootHttpServer } from './http/server.js';
import { DEFAULT_TFTP_ROOT, TftpServer } from './tftp/server.js';
import type { TransferLimits } from './tftp/transfer.js';

export type PxeServiceOptions = {
  site: Site;
  /** The site's hosts with their renderings. */
  hosts: readonly DesiredHost[];
  mode?: 'dhcp' | 'proxy';
  /** Where leases, the gate and the event log live; in memory when undefined. */
  stateDir?: string;
  tftpRoot?: string;
  filesDir?: string;
  /** Address the sockets bind (default 0.0.0.0). */
  listenHost?: string;
  dhcpPort?: number;
  tftpPort?: number;
  httpPort?: number;
  tftpLimits?: TransferLimits;
  /** Arm the gate for every `state: deployed` host whose provisioned specHash differs (standalone serve). */
  armDeployed?: boolean;
  onEvent?: (e: BootEvent) => void;
  now?: () => number;
};

/** Static and pool DHCP entries of a site's hosts: boot MAC → address (CIDR suffix dropped). */
export function dhcpHostsOf(hosts: readonly DesiredHost[]): DhcpHost[] {
  const out: DhcpHost[] = [];
  for (const d of hosts) {
    const h = d.host;
    const mac = bootMacOf(h);
    if (mac === undefined) continue;
    const e: DhcpHost = {
      host: h.metadata.name,
      mac: mac.toLowerCase(),
      hostname: hostnameOf(h),
      firmware: h.spec.hardware.firmware,
      arch: h.spec.hardware.arch,
    };
    const addr = h.spec.network?.address?.split('/')[0];
    if (addr !== undefined) e.address = addr;
    if (h.spec.network?.gateway !== undefined) e.router = h.spec.network.gateway;
    if (h.spec.network?.dns !== undefined) e.dns = h.spec.network.dns;
    out.push(e);
  }
  return out;
}

export class PxeService {
  readonly gate: GateStore;
  readonly events: EventLog;
  readonly dhcp: DhcpServer;
  readonly tftp: TftpServer;
  readonly #http: Server;

  private constructor(p: { gate: GateStore; events: EventLog; dhcp: DhcpServer; tftp: TftpServer; http: Server }) {
    this.gate = p.gate;
    this.events = p.events;
    this.dhcp = p.dhcp;
    this.tftp = p.tftp;
    this.#http = p.http;
  }

  get httpPort(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  static async start(o: PxeServiceOptions): Promise<PxeService> {
    const pxe = o.site.spec.pxe;
    if (pxe === undefined) {
      throw new GoughError(
        'config-error',
        `Cannot serve PXE for site "${o.site.metadata.name}": it has no pxe settings`,
      );
    }
    const now = o.now ?? Date.now;
    const state = (f: string) => (o.stateDir === undefined ? undefined : join(o.stateDir, f));
    const events = new EventLog(state('events.jsonl'));
    const gate = new GateStore(state('gate.json'));
    const record = (e: BootEvent) => {
      events.record(e);
      o.onEvent?.(e);
    };
    const siteHosts = o.hosts.filter((d) => d.host.spec.site === o.site.metadata.name);
    const httpPort = o.httpPort ?? pxe.httpPort ?? PXE_HTTP_PORT_DEFAULT;
    const cfg = {
      mode: o.mode ?? pxe.mode,
      serverId: pxe.bootServer,
      subnet: pxe.subnet,
      httpPort,
      discover: pxe.discover === true,
      hosts: dhcpHostsOf(siteHosts),
      ...(pxe.router === undefined ? {} : { router: pxe.router }),
      ...(pxe.dns === undefined ? {} : { dns: pxe.dns }),
      ...(pxe.domain === undefined ? {} : { domain: pxe.domain }),
      ...(pxe.range === undefined ? {} : { range: pxe.range }),
      ...(pxe.leaseSeconds === undefined ? {} : { leaseSeconds: pxe.leaseSeconds }),
    };
    const leasePath = state('leases.json');
    const dhcp = await DhcpServer.listen({
      responder: new DhcpResponder(cfg),
      onEvent: record,
      now,
      ...(o.listenHost === undefined ? {} : { host: o.listenHost }),
      ...(o.dhcpPort === undefined ? {} : { port: o.dhcpPort }),
      ...(leasePath === undefined ? {} : { leases: new LeaseFile(leasePath) }),
    });
    const cleanup: (() => Promise<void>)[] = [() => dhcp.close()];
    try {
      const tftp = await TftpServer.listen({
        root: o.tftpRoot ?? pxe.tftpRoot ?? DEFAULT_TFTP_ROOT,
        onEvent: record,
        macOf: (a) => dhcp.whoHas(a),
        now,
        ...(o.listenHost === undefined ? {} : { host: o.listenHost }),
        ...(o.tftpPort === undefined ? {} : { port: o.tftpPort }),
        ...(o.tftpLimits === undefined ? {} : { limits: o.tftpLimits }),
      });
      cleanup.push(() => tftp.close());
      const byMac = new Map<string, DesiredHost>();
      for (const d of siteHosts) {
        const mac = bootMacOf(d.host);
        if (mac !== undefined) byMac.set(mac.toLowerCase(), d);
      }
      const http = createBootHttpServer({
        catalog: { byMac: (m) => byMac.get(m), discover: pxe.discover === true },
        gate,
        onEvent: record,
        now,
        ...(o.filesDir === undefined ? {} : { filesDir: o.filesDir }),
      });
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(httpPort, o.listenHost ?? '0.0.0.0', () => {
          http.off('error', reject);
          resolve();
        });
      });
      const svc = new PxeService({ gate, events, dhcp, tftp, http });
      if (o.armDeployed === true) await svc.armDeployed(siteHosts, new Date(now()).toISOString());
      return svc;
    } catch (e) {
      for (const c of cleanup.reverse()) await c().catch(() => {});
      throw e;
    }
  }

  /** Arms every host that should be deployed and is not provisioned with its current specHash. */
  async armDeployed(hosts: readonly DesiredHost[], at: string): Promise<string[]> {
    const armed: string[] = [];
    const s = await this.gate.read();
    for (const d of hosts) {
      if (d.host.spec.state !== 'deployed') continue;
      const name = d.host.metadata.name;
      const r = s.hosts[name];
      if (r?.armed !== undefined || r?.provisioned?.specHash === d.rendered.specHash) continue;
      await this.gate.arm(name, {
        kind: r?.provisioned === undefined ? 'deploy' : 'redeploy',
        specHash: d.rendered.specHash,
        at,
      });
      armed.push(name);
    }
    return armed;
  }

  async close(): Promise<void> {
    this.#http.closeAllConnections();
    await new Promise<void>((r) => this.#http.close(() => r()));
    await this.tftp.close();
    await this.dhcp.close();
    await this.events.flush();
  }
}
