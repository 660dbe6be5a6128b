/**
 * A TFTP worker thread: runs the transfers the server (server.ts, which keeps port 69, the root jail and the file
 * cache) hands it, each on its own socket, and reports their ends back. DATA packets arrive in shared memory, built
 * once per file and block size, so a hand-over copies no file bytes.
 */
import { parentPort } from 'node:worker_threads';
import { startSession } from './session.js';
import { DataPackets, type Negotiation, type TransferLimits } from './transfer.js';

export type ToWorker =
  | {
      op: 'serve';
      id: number;
      host: string;
      remote: { address: string; port: number };
      /** `DataPackets.buffer`, backed by a SharedArrayBuffer. */
      packets: Uint8Array;
      size: number;
      negotiation: Negotiation;
      limits: TransferLimits;
    }
  | { op: 'close' };

export type FromWorker =
  | { op: 'done'; id: number; ok: boolean; reason: string }
  | { op: 'closed'; id: number }
  | { op: 'ready' }
  | { op: 'stopped' };

const port = parentPort;
if (port === null) throw new Error('The TFTP worker must run as a worker thread');
const post = (m: FromWorker) => port.postMessage(m);
const sessions = new Map<number, () => void>();

port.on('message', (m: ToWorker) => {
  if (m.op === 'close') {
    for (const abort of sessions.values()) abort();
    sessions.clear();
    post({ op: 'stopped' });
    port.close();
    return;
  }
  const { id } = m;
  const packets = new DataPackets({ buffer: m.packets, size: m.size, blksize: m.negotiation.blksize });
  const abort = startSession(
    { host: m.host, remote: m.remote, packets, negotiation: m.negotiation, limits: m.limits },
    {
      done: (r) => post({ op: 'done', id, ok: r.ok, reason: r.reason }),
      closed: () => {
        if (sessions.delete(id)) post({ op: 'closed', id });
      },
    },
  );
  sessions.set(id, abort);
});

post({ op: 'ready' });
