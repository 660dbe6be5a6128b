/**
 * The boot gate: what a MAC gets when it boots now. `decideBoot` is pure; `GateStore` keeps the gate's state in a
 * JSON file (atomic writes) so the provisioner (arms/disarms) and `gough pxe serve` (answers) can be different
 * processes, and a restart never turns a provisioned host back into an installing one.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DesiredHost } from '../../model/index.js';
import { renderBootScript } from '../../render/index.js';

export type GateRecord = {
  /** Set while an action needs the installer (deploy, redeploy). */
  armed?: { kind: string; specHash: string; since: string; actionId?: string };
  /** Set when the install reported completion. */
  provisioned?: { specHash: string; at: string };
};

export type DiscoveredMac = { mac: string; firstSeen: string; lastSeen: string; address?: string };

export type GateState = {
  /** By host name. */
  hosts: Record<string, GateRecord>;
  /** Unknown MACs booted into discovery, by MAC. */
  discovered: Record<string, DiscoveredMac>;
};

export type BootScriptChoice = 'install' | 'local-disk' | 'no-business' | 'discovery';
export type BootDecision = { kind: BootScriptChoice; script: string };

/** Script for an unknown MAC when discovery is on: says so, records nothing itself, hands over. */
export function discoveryScript(mac: string): string {
  const safe = mac.replace(/[^0-9a-f:]/g, '_');
  return ['#!ipxe', `echo Gough: unknown machine ${safe} recorded for discovery, handing over`, 'exit', ''].join('\n');
}

/**
 * What a booting MAC gets: the installer only while armed; the local disk once provisioned; otherwise a script
 * that says it has no business booting (or, for unknown MACs with discovery on, the discovery script).
 */
export function decideBoot(input: {
  mac: string;
  desired: DesiredHost | undefined;
  record: GateRecord | undefined;
  discover: boolean;
}): BootDecision {
  const { mac, desired, record } = input;
  if (desired === undefined) {
    if (input.discover) return { kind: 'discovery', script: discoveryScript(mac) };
    return { kind: 'no-business', script: renderBootScript('no-business', { mac }) };
  }
  const host = desired.host.metadata.name;
  if (record?.armed !== undefined) {
    return { kind: 'install', script: renderBootScript('install', { host, rendered: desired.rendered }) };
  }
  if (record?.provisioned !== undefined)
    return { kind: 'local-disk', script: renderBootScript('local-disk', { host }) };
  return { kind: 'no-business', script: renderBootScript('no-business', { host }) };
}

const empty = (): GateState => ({ hosts: {}, discovered: {} });

/** Gate state in a file (or in memory when no path is given). Updates are serialized within the process. */
export class GateStore {
  readonly #path: string | undefined;
  #memory: GateState = empty();
  #chain: Promise<unknown> = Promise.resolve();

  constructor(path?: string) {
    this.#path = path;
  }

  async read(): Promise<GateState> {
    if (this.#path === undefined) return structuredClone(this.#memory);
    try {
      const doc = JSON.parse(await readFile(this.#path, 'utf8')) as Partial<GateState>;
      return { hosts: doc.hosts ?? {}, discovered: doc.discovered ?? {} };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty();
      throw e;
    }
  }

  async record(host: string): Promise<GateRecord | undefined> {
    return (await this.read()).hosts[host];
  }

  update(fn: (s: GateState) => void): Promise<GateState> {
    const next = this.#chain.then(async () => {
      const s = await this.read();
      fn(s);
      if (this.#path === undefined) this.#memory = structuredClone(s);
      else {
        await mkdir(dirname(this.#path), { recursive: true });
        const tmp = `${this.#path}.${process.pid}.tmp`;
        await writeFile(tmp, `${JSON.stringify(s, null, 1)}\n`);
        await rename(tmp, this.#path);
      }
      return s;
    });
    this.#chain = next.catch(() => {});
    return next;
  }

  arm(host: string, a: { kind: string; specHash: string; at: string; actionId?: string }): Promise<GateState> {
    return this.update((s) => {
      const r = s.hosts[host] ?? {};
      r.armed = {
        kind: a.kind,
        specHash: a.specHash,
        since: a.at,
        ...(a.actionId === undefined ? {} : { actionId: a.actionId }),
      };
      s.hosts[host] = r;
    });
  }

  /** Install finished: disarm and remember what is on disk. */
  markProvisioned(host: string, specHash: string, at: string): Promise<GateState> {
    return this.update((s) => {
      s.hosts[host] = { provisioned: { specHash, at } };
    });
  }

  /** Released: neither installing nor provisioned. */
  clear(host: string): Promise<GateState> {
    return this.update((s) => {
      delete s.hosts[host];
    });
  }

  disarm(host: string): Promise<GateState> {
    return this.update((s) => {
      const r = s.hosts[host];
      if (r !== undefined) delete r.armed;
    });
  }

  noteDiscovered(mac: string, at: string, address?: string): Promise<GateState> {
    return this.update((s) => {
      const d = s.discovered[mac] ?? { mac, firstSeen: at, lastSeen: at };
      d.lastSeen = at;
      if (address !== undefined) d.address = address;
      s.discovered[mac] = d;
    });
  }
}
