/**
 * Runs one accepted read transfer on its own UDP socket (its TID, RFC 1350): binds, connects to the client, and
 * feeds the pure `ReadTransfer` the client's packets and retransmit timeouts. Used by the server on its own thread
 * (`workers: 0`) and by each worker thread (worker.ts).
 */
import { createSocket } from 'node:dgram';
import { decodeTftp } from './codec.js';
import { type DataPackets, type Negotiation, ReadTransfer, type Step, type TransferLimits } from './transfer.js';

export type Remote = { address: string; port: number };

export type SessionSpec = {
  /** Local address to send from (the server's). */
  host: string;
  remote: Remote;
  packets: DataPackets;
  negotiation: Negotiation;
  limits: TransferLimits;
};

export type SessionHooks = {
  /** The transfer ended (`ok` false: gave up, the client aborted, or a socket error); called at most once. */
  done(result: { ok: boolean; reason: string }): void;
  /** The socket is closed (after a short linger on success); called once, also after `abort`. */
  closed(): void;
};

/** How long the socket stays open after the last ACK, so a retransmitted last ACK gets no ICMP error. */
const LINGER_MS = 50;

/** Starts the transfer; the returned function aborts it (closes the socket now, without `done`). */
export function startSession(spec: SessionSpec, hooks: SessionHooks): () => void {
  const sock = createSocket('udp4');
  const t = new ReadTransfer(spec.packets, spec.negotiation, spec.limits);
  let timer: NodeJS.Timeout | undefined;
  let open = true;
  let ended = false;
  const close = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (!open) return;
    open = false;
    sock.close(() => hooks.closed());
  };
  const end = (result: { ok: boolean; reason: string }) => {
    if (ended) return;
    ended = true;
    hooks.done(result);
  };
  const onTimeout = () => run(t.onTimeout());
  const run = (step: Step) => {
    if (!open) return;
    for (const pkt of step.send) sock.send(pkt);
    if (step.done !== undefined) {
      end(step.done);
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(close, LINGER_MS);
      return;
    }
    if (step.timeoutMs !== undefined) {
      if (timer === undefined) timer = setTimeout(onTimeout, step.timeoutMs);
      else timer.refresh();
    }
  };
  sock.on('error', (e) => {
    end({ ok: false, reason: `socket error: ${e.message}` });
    close();
  });
  sock.on('message', (msg) => {
    // The per-packet path: an ACK is four bytes and needs no decoding into an object.
    if (msg.length === 4 && msg[0] === 0 && msg[1] === 4) {
      run(t.onAck(((msg[2] as number) << 8) | (msg[3] as number)));
      return;
    }
    let p: ReturnType<typeof decodeTftp>;
    try {
      p = decodeTftp(msg);
    } catch {
      return;
    }
    run(t.onPacket(p));
  });
  sock.bind({ address: spec.host, port: 0 }, () => {
    if (!open) return;
    // A connected socket: sends skip address resolution and the kernel drops packets from other TIDs.
    sock.connect(spec.remote.port, spec.remote.address, () => {
      if (open) run(t.start());
    });
  });
  return close;
}
