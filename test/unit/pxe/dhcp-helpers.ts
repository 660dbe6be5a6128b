import {
  type DhcpMessage,
  OPT,
  type MessageType,
  blankMessage,
  ipOption,
  macToBytes,
  stringOption,
  typeOption,
} from '../../../src/drivers/pxe/index.js';

export type RequestOpts = {
  xid?: number;
  ciaddr?: string;
  giaddr?: string;
  flags?: number;
  serverId?: string;
  requested?: string;
  vendorClass?: string;
  userClass?: string;
  arch?: number;
  extra?: [number, Uint8Array][];
};

/** A client request as a real client would send it. */
export function request(type: MessageType, mac: string, o: RequestOpts = {}): DhcpMessage {
  const m = blankMessage(1);
  m.xid = o.xid ?? 0x1234abcd;
  m.chaddr = macToBytes(mac);
  if (o.ciaddr !== undefined) m.ciaddr = o.ciaddr;
  if (o.giaddr !== undefined) m.giaddr = o.giaddr;
  if (o.flags !== undefined) m.flags = o.flags;
  m.options.set(OPT.messageType, typeOption(type));
  if (o.serverId !== undefined) m.options.set(OPT.serverId, ipOption(o.serverId));
  if (o.requested !== undefined) m.options.set(OPT.requestedIp, ipOption(o.requested));
  if (o.vendorClass !== undefined) m.options.set(OPT.vendorClass, stringOption(o.vendorClass));
  if (o.userClass !== undefined) m.options.set(OPT.userClass, stringOption(o.userClass));
  if (o.arch !== undefined) m.options.set(OPT.clientArch, Uint8Array.of(o.arch >> 8, o.arch & 255));
  m.options.set(OPT.paramRequest, Uint8Array.of(1, 3, 6, 12, 15, 28, 60, 66, 67, 128, 175));
  for (const [k, v] of o.extra ?? []) m.options.set(k, v);
  return m;
}
