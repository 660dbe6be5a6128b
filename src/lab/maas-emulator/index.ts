/**
 * The MAAS emulator: an HTTP server on loopback that answers like MAAS API 2.0 (shared/contracts/maas), with timed
 * state machines, fault injection and a request log. `gough lab`, `gough maas-emulator`, the tests and the
 * benchmarks run against it. See docs/maas.md for what it emulates and what it does not.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type Host, type Site, bootMacOf, hostnameOf } from '../../model/index.js';
import { type Credential, EmulatorServer, type RequestLogEntry } from './server.js';
import { type FaultConfig, MaasWorld, type SeedMachine } from './world.js';

export { EMULATOR_ROUTES, parseOauthHeader, type RequestLogEntry } from './server.js';
export type { FaultConfig, OpFault, SeedMachine, EmuEvent } from './world.js';
export { NODE_TRANSITIONS, STATUS_NAME, canTransition } from './status.js';
export { renderMachine } from './machine.js';

export type MaasEmulatorOptions = {
  port?: number;
  /** Listen address; loopback by default. */
  host?: string;
  /** Multiplies every duration: 1 ≈ real MAAS (a deploy ~30 s), 0.02 makes a deploy ~0.6 s. */
  timeFactor?: number;
  faults?: FaultConfig;
  machines?: SeedMachine[];
  /** `consumer:token:secret`; generated (18:18:32 characters, like MAAS) when absent. */
  apiKey?: string;
  /** Append every request log entry to this file as a JSON line (readable while the emulator runs). */
  logFile?: string;
  /** More API keys; `admin: false` ones get 403 on admin-only operations (create, commission, power parameters…). */
  extraApiKeys?: { apiKey: string; admin: boolean }[];
};

export type EmulatedMachine = Record<string, unknown> & {
  system_id: string;
  hostname: string;
  status: number;
  power_state: string;
  _emulator: { powerCycles: number; userData: string | null; powerParameters: Record<string, string> };
};

export type MaasEmulator = {
  /** `http://127.0.0.1:PORT/MAAS` — what a Site's `maas.url` points at. */
  url: string;
  apiKey: string;
  /** Every API request so far (not `/_emulator/` ones), oldest first. */
  requestLog(): RequestLogEntry[];
  /** Machines as MAAS renders them, plus `_emulator` facts (power cycles, user-data, power parameters). */
  machines(): EmulatedMachine[];
  addMachine(seed: SeedMachine): EmulatedMachine;
  setFaults(f: FaultConfig): void;
  /** Clears the request log (e.g. between test phases). */
  clearLog(): void;
  close(): Promise<void>;
};

function randomToken(n: number): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[(bytes[i] ?? 0) % alphabet.length];
  return s;
}

/** A fresh MAAS-style API key (`consumer:token:secret`, 18:18:32). */
export function generateApiKey(): string {
  return `${randomToken(18)}:${randomToken(18)}:${randomToken(32)}`;
}

function credentialOf(apiKey: string): Credential {
  const [consumerKey, tokenKey, tokenSecret] = apiKey.split(':');
  if (!consumerKey || !tokenKey || !tokenSecret) throw new Error('Emulator API key must be "consumer:token:secret"');
  return { consumerKey, tokenKey, tokenSecret };
}

export async function startMaasEmulator(opts: MaasEmulatorOptions = {}): Promise<MaasEmulator> {
  const apiKey = opts.apiKey ?? generateApiKey();
  const world = new MaasWorld({ timeFactor: opts.timeFactor ?? 1, faults: opts.faults ?? {} });
  for (const m of opts.machines ?? []) world.add(m);
  const credentials: Credential[] = [
    { ...credentialOf(apiKey), admin: true },
    ...(opts.extraApiKeys ?? []).map((k) => ({ ...credentialOf(k.apiKey), admin: k.admin })),
  ];
  const srv = new EmulatorServer(opts.logFile === undefined ? { world, credentials } : { world, credentials, logFile: opts.logFile });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    srv.server.once('error', reject);
    srv.server.listen(opts.port ?? 0, host, () => {
      srv.server.off('error', reject);
      resolve();
    });
  });
  const port = (srv.server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const render = (m: ReturnType<MaasWorld['add']>): EmulatedMachine =>
    ({ ...world.render(m), _emulator: { powerCycles: m.powerCycles, userData: m.userData, powerParameters: { ...m.powerParams } } }) as EmulatedMachine;
  let cleared = 0;
  return {
    url: `http://${urlHost}:${port}/MAAS`,
    apiKey,
    requestLog: () => srv.log.slice(cleared),
    machines: () => world.all().map(render),
    addMachine: (seed) => render(world.add(seed)),
    setFaults: (f) => world.setFaults(f),
    clearLog: () => {
      cleared = srv.log.length;
    },
    close: async () => {
      world.close();
      srv.server.closeAllConnections();
      await new Promise<void>((resolve) => srv.server.close(() => resolve()));
    },
  };
}

export type SeedFromHostsOptions = {
  /** Only hosts of this site (e.g. the repo's MAAS site). */
  site?: string;
  /**
   * Where each host starts: `absent` (not in MAAS: Gough must register it), a MAAS status name (`new`, `ready`,
   * `deployed`, …), or a function per host. Default `new`.
   */
  initial?: 'absent' | string | ((h: Host) => 'absent' | string);
  /** The repo's sites: a host's machine goes into its site's MAAS zone and pool (else `default`). */
  sites?: readonly Site[];
};

/** Seed machines for repo hosts: hostname (first label of the host's hostname) and MACs (boot MAC first), architecture, IPMI power type when a BMC is set. */
export function seedMachinesFromHosts(hosts: readonly Host[], opts: SeedFromHostsOptions = {}): SeedMachine[] {
  const out: SeedMachine[] = [];
  for (const h of hosts) {
    if (opts.site !== undefined && h.spec.site !== opts.site) continue;
    const initial = typeof opts.initial === 'function' ? opts.initial(h) : (opts.initial ?? 'new');
    if (initial === 'absent') continue;
    const boot = bootMacOf(h)?.toLowerCase();
    const macs = h.spec.hardware.macs.map((m) => m.toLowerCase());
    const seed: SeedMachine = {
      hostname: hostnameOf(h).split('.')[0] ?? h.metadata.name,
      macs: boot ? [boot, ...macs.filter((m) => m !== boot)] : macs,
      architecture: `${h.spec.hardware.arch}/generic`,
      status: initial,
      powerType: h.spec.hardware.bmc ? 'ipmi' : 'manual',
    };
    const maas = opts.sites?.find((s) => s.metadata.name === h.spec.site)?.spec.maas;
    if (maas?.zone) seed.zone = maas.zone;
    if (maas?.pool) seed.pool = maas.pool;
    if (h.spec.hardware.bmc?.address) seed.powerParameters = { power_address: h.spec.hardware.bmc.address, power_driver: 'LAN_2_0' };
    out.push(seed);
  }
  return out;
}
