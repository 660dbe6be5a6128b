// Runs Gough's TftpServer (from the build in dist/) on 127.0.0.1 and an ephemeral port for integration tests.
// usage: node tftp-child.mjs ROOT WORKERS — prints "READY <json>", one "EVENT <json>" per boot event, and on SIGTERM
// "CLOSED <json>" after close(). It never calls process.exit: the process ends only when close() left nothing running.
import { TftpServer } from '../../../dist/drivers/pxe/index.js';

const [root, workers] = process.argv.slice(2);
const s = await TftpServer.listen({
  root,
  host: '127.0.0.1',
  port: 0,
  workers: Number(workers),
  onEvent: (e) => process.stdout.write(`EVENT ${JSON.stringify(e)}\n`),
});
process.stdout.write(`READY ${JSON.stringify({ port: s.port, workers: s.workers })}\n`);
process.once('SIGTERM', async () => {
  const active = s.activeTransfers;
  await s.close();
  process.stdout.write(`CLOSED ${JSON.stringify({ activeBefore: active, active: s.activeTransfers, workers: s.workers })}\n`);
});
