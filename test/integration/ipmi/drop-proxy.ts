/**
 * A loopback UDP proxy in front of one BMC that drops the first `dropFirst` datagrams from the client (and can
 * drop everything with `blackhole`), to test retransmits.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';

export type DropProxy = { port: number; dropped(): number; forwarded(): number; close(): Promise<void> };

export async function startDropProxy(target: { address: string; port: number }, opts: { dropFirst?: number; blackhole?: boolean } = {}): Promise<DropProxy> {
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  let client: RemoteInfo | undefined;
  let dropped = 0;
  let forwarded = 0;
  front.on('message', (msg, rinfo) => {
    client = rinfo;
    if (opts.blackhole || dropped < (opts.dropFirst ?? 0)) {
      dropped++;
      return;
    }
    forwarded++;
    back.send(msg, target.port, target.address);
  });
  back.on('message', (msg) => {
    if (client) front.send(msg, client.port, client.address);
  });
  front.on('error', () => undefined);
  back.on('error', () => undefined);
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
  return {
    port: front.address().port,
    dropped: () => dropped,
    forwarded: () => forwarded,
    close: async () => {
      await new Promise<void>((r) => front.close(() => r()));
      await new Promise<void>((r) => back.close(() => r()));
    },
  };
}
