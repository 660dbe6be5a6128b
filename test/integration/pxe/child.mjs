// Runs Gough's PxeService (from the build in dist/) inside a network namespace for integration tests.
// usage: node child.mjs CONFIG.json   — prints "READY <json>" then one JSON boot event per line.
import { readFileSync } from 'node:fs';
import { PxeService } from '../../../dist/drivers/pxe/index.js';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const svc = await PxeService.start({ ...cfg, onEvent: (e) => process.stdout.write(`EVENT ${JSON.stringify(e)}\n`) });
process.stdout.write(`READY ${JSON.stringify({ http: svc.httpPort, tftp: svc.tftp.port, dhcp: svc.dhcp.port })}\n`);
const stop = async () => {
  await svc.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
