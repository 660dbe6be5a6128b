/**
 * The provisioner registry: the composition root picks the driver a Site names (`spec.provisioner`).
 * Explicit, no self-registration: one branch per provisioner.
 */
import type { Logger } from 'pino';
import { join } from 'node:path';
import { MaasClient, MaasProvisioner } from '../drivers/maas/index.js';
import { EventLog, GateStore, PxeProvisioner } from '../drivers/pxe/index.js';
import { GoughError, type PowerDriver, type Provisioner, type SecretResolver, type Site } from '../model/index.js';

export type ProviderDeps = {
  secrets: SecretResolver;
  logger?: Logger;
  stateDir?: string;
  powerDriver?: PowerDriver;
  /** How often MAAS actions re-read a machine while verifying (default 5 s; the lab uses less). */
  pollIntervalMs?: number;
};

export function createProvisioner(site: Site, deps: ProviderDeps): Provisioner {
  const name = site.metadata.name;
  switch (site.spec.provisioner) {
    case 'maas': {
      const maas = site.spec.maas;
      if (!maas) throw new GoughError('config-error', `Site "${name}" uses provisioner "maas" but has no "maas" settings`);
      const logger = deps.logger?.child({ component: 'maas', site: name });
      const client = new MaasClient({
        url: maas.url,
        apiKey: () => deps.secrets(maas.apiKeyRef),
        ...(logger ? { logger } : {}),
      });
      return new MaasProvisioner({
        client,
        site,
        secrets: deps.secrets,
        ...(deps.pollIntervalMs !== undefined ? { pollIntervalMs: deps.pollIntervalMs } : {}),
        ...(logger ? { logger } : {}),
      });
    }
    case 'pxe': {
      // Shares gate and boot events with `gough pxe serve --state-dir <stateDir>/pxe/<site>` (its default under .gough).
      const dir = join(deps.stateDir ?? '.gough', 'pxe', name);
      return new PxeProvisioner({
        gate: new GateStore(join(dir, 'gate.json')),
        events: new EventLog(join(dir, 'events.jsonl')),
        ...(deps.powerDriver ? { powerDriver: deps.powerDriver } : {}),
        ...(deps.pollIntervalMs !== undefined ? { pollMs: deps.pollIntervalMs } : {}),
      });
    }
    default:
      throw new GoughError('config-error', `Site "${name}" uses provisioner "${site.spec.provisioner}", which this build does not provide`);
  }
}
