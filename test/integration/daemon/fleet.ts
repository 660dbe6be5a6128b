/** The example fleet's MAAS site against a real MAAS emulator, from a copy of example-repo in a real Git repo. */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type MaasEmulator, seedMachinesFromHosts, startMaasEmulator } from '../../../src/lab/maas-emulator/index.js';
import { loadDirectory } from '../../../src/repo/index.js';

export const EXAMPLE = new URL('../../../example-repo/', import.meta.url).pathname;

/**
 * Copies example-repo into `dir` pointing dc1 at `maasUrl`. Policies are dropped: their maintenance windows and
 * approvals would (rightly) hold the database hosts until a Sunday night with a DBA's approval.
 */
export function writeExampleFleet(dir: string, maasUrl: string): void {
  cpSync(EXAMPLE, dir, { recursive: true, dereference: true });
  rmSync(join(dir, 'policies'), { recursive: true, force: true });
  const site = join(dir, 'sites', 'dc1.yaml');
  writeFileSync(site, readFileSync(site, 'utf8').replace('http://127.0.0.1:5240/MAAS', maasUrl));
}

export async function startFleetEmulator(opts: { timeFactor?: number; port?: number; logFile?: string } = {}): Promise<{
  emulator: MaasEmulator;
  hosts: string[];
}> {
  const { desired } = await loadDirectory(EXAMPLE);
  const machines = seedMachinesFromHosts(desired.hosts, { site: 'dc1', sites: desired.sites });
  const emulator = await startMaasEmulator({
    timeFactor: opts.timeFactor ?? 0.02,
    machines,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.logFile !== undefined ? { logFile: opts.logFile } : {}),
  });
  const hosts = desired.hosts.filter((h) => h.spec.site === 'dc1').map((h) => h.metadata.name).sort();
  return { emulator, hosts };
}

/** Mutating MAAS calls (deploy, release, allocate, commission, power) after `since` (ISO). */
export function mutations(emulator: MaasEmulator, since = '') {
  return emulator.requestLog().filter((e) => e.method === 'POST' && e.at > since);
}
