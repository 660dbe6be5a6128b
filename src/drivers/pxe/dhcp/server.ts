/**
 * The DHCP socket: receives on UDP 67 (and 4011 for PXE boot-server requests in proxy mode), hands decoded
 * requests to the pure responder and sends its replies. The only DHCP file that touches a socket.
 *
 * Node cannot bind a UDP socket to one interface (no SO_BINDTODEVICE), so the server binds 0.0.0.0: run it on a
 * host (or namespace) whose only broadcast domain on 67 is the provisioning network, or in proxy mode.
 */
import { type Socket, createSocket } from 'node:dgram';
import type { BootEvent } from '../events.js';
import { decodeDhcp } from './codec.js';
import type { LeaseFile } from './leases.js';
import type { DhcpResponder } from './responder.js';

export type DhcpServerOptions = {
  responder: DhcpResponder;
  host?: string;
  /** Default 67; 0 picks a free port (tests). */
  port?: number;
  /** Also listen for PXE boot-server requests (proxy mode). Default: 4011 in proxy mode, none otherwise. */
  pxePort?: number | false;
  /** Port replies to clients go to (default 68). */
  clientPort?: number;
  leases?: LeaseFile;
  onEvent?: (e: BootEvent) => void;
  now?: () => number;
};

async function bind(host: string, port: number): Promise<Socket> {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: host, port }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.setBroadcast(true);
  sock.on('error', () => {});
  return sock;
}

export class DhcpServer {
  readonly #opts: DhcpServerOptions;
  readonly #socks: Socket[] = [];
  #saveTimer: NodeJS.Timeout | undefined;
  #stats = { received: 0, malformed: 0, replied: 0 };

  private constructor(opts: DhcpServerOptions) {
    this.#opts = opts;
  }

  static async listen(opts: DhcpServerOptions): Promise<DhcpServer> {
    const s = new DhcpServer(opts);
    const now = opts.now?.() ?? Date.now();
    if (opts.leases !== undefined) opts.responder.restore(await opts.leases.load(), now);
    const host = opts.host ?? '0.0.0.0';
    const main = await bind(host, opts.port ?? 67);
    s.#socks.push(main);
    main.on('message', (msg, r) => s.#onMessage(main, msg, { address: r.address, port: r.port }, 67));
    const pxePort = opts.pxePort ?? (opts.responder.config.mode === 'proxy' ? 4011 : false);
    if (pxePort !== false) {
      const pxe = await bind(host, pxePort);
      s.#socks.push(pxe);
      pxe.on('message', (msg, r) => s.#onMessage(pxe, msg, { address: r.address, port: r.port }, 4011));
    }
    return s;
  }

  get port(): number {
    return this.#socks[0]?.address().port ?? 0;
  }

  get stats(): { received: number; malformed: number; replied: number } {
    return { ...this.#stats };
  }

  /** Address → MAC of current leases and static hosts (for TFTP/HTTP event attribution). */
  whoHas(address: string): { mac: string; host?: string } | undefined {
    const now = this.#opts.now?.() ?? Date.now();
    const l = this.#opts.responder.leaseAt(address, now);
    if (l !== undefined) return l.host === undefined ? { mac: l.mac } : { mac: l.mac, host: l.host };
    const h = this.#opts.responder.config.hosts.find((x) => x.address === address);
    return h === undefined ? undefined : { mac: h.mac, host: h.host };
  }

  async close(): Promise<void> {
    if (this.#saveTimer !== undefined) {
      clearTimeout(this.#saveTimer);
      this.#saveTimer = undefined;
      await this.#save();
    }
    await Promise.all(this.#socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.#socks.length = 0;
  }

  #save(): Promise<void> {
    const now = this.#opts.now?.() ?? Date.now();
    return this.#opts.leases?.save(this.#opts.responder.snapshot(now)) ?? Promise.resolve();
  }

  #onMessage(sock: Socket, msg: Buffer, from: { address: string; port: number }, port: number): void {
    this.#stats.received++;
    let req: ReturnType<typeof decodeDhcp>;
    try {
      req = decodeDhcp(msg);
    } catch {
      this.#stats.malformed++;
      return;
    }
    const now = this.#opts.now?.() ?? Date.now();
    const res = this.#opts.responder.respond(req, { now, port, from });
    if (res.reply !== undefined) {
      const to = res.reply.to;
      const dport = to.port === 68 ? (this.#opts.clientPort ?? 68) : to.port;
      sock.send(res.reply.bytes, dport, to.address);
      this.#stats.replied++;
    }
    let changed = false;
    for (const e of res.events) {
      if (e.kind !== 'dhcp-ignored' && e.kind !== 'dhcp-inform' && e.kind !== 'dhcp-nak') changed = true;
      this.#opts.onEvent?.(e);
    }
    if (changed && this.#opts.leases !== undefined && this.#saveTimer === undefined) {
      // Coalesce writes: at most one lease-file write per 200 ms under load.
      this.#saveTimer = setTimeout(() => {
        this.#saveTimer = undefined;
        void this.#save();
      }, 200);
    }
  }
}
