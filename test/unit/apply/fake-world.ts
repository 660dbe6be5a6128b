/** A small in-test world for executor unit tests: hosts with a lifecycle, a power state, and a call log. */
import type { Action, DesiredHost, Host, ObservedHost, Outcome, Provisioner, Site } from '../../../src/model/index.js';
import { GoughError } from '../../../src/model/index.js';

export function desiredHost(name: string, site = 's1', specHash = 'hash-1'): DesiredHost {
  const siteRes: Site = { apiVersion: 'gough.dev/v1', kind: 'Site', metadata: { name: site }, spec: { provisioner: 'maas' } };
  const host: Host = {
    apiVersion: 'gough.dev/v1',
    kind: 'Host',
    metadata: { name },
    spec: { site, hardware: { macs: ['52:54:00:00:00:01'], arch: 'amd64', firmware: 'uefi' }, state: 'deployed', power: 'on' },
  };
  return {
    host,
    site: siteRes,
    revision: 'rev-1',
    rendered: { host: name, os: { distro: 'ubuntu', series: 'noble' }, userData: '', metaData: '', ipxeScript: '', kernelArgs: '', specHash },
  };
}

export function deployAction(host: string, opts: { site?: string; specHash?: string } = {}): Action {
  const specHash = opts.specHash ?? 'hash-1';
  return { id: `deploy-${host}-${specHash}`, host, site: opts.site ?? 's1', kind: 'deploy', reason: 'test', disruptive: false, specHash };
}

export type Call = { op: 'perform' | 'observe'; host: string; kind?: string; at: number };

export class FakeWorld implements Provisioner {
  readonly kind = 'fake';
  hosts = new Map<string, ObservedHost>();
  calls: Call[] = [];
  /** Per host: errors to throw on the next perform calls, in order. */
  failures = new Map<string, GoughError[]>();
  /** Called at the start of perform (to look at the journal from inside a side effect). */
  onPerform: ((a: Action) => void) | undefined;
  deployMs = 20;
  hang = new Set<string>();
  active = 0;
  maxActive = 0;

  add(name: string, lifecycle: ObservedHost['lifecycle'] = 'ready'): void {
    this.hosts.set(name, { name, lifecycle, power: 'off', provider: { kind: 'fake', id: name, status: lifecycle }, errors: [] });
  }

  async observe(hosts: readonly DesiredHost[]): Promise<ObservedHost[]> {
    const out: ObservedHost[] = [];
    for (const h of hosts) {
      this.calls.push({ op: 'observe', host: h.host.metadata.name, at: Date.now() });
      const o = this.hosts.get(h.host.metadata.name);
      if (o) out.push({ ...o });
    }
    return out;
  }

  async perform(a: Action, _t: DesiredHost, opts: { signal?: AbortSignal } = {}): Promise<Outcome> {
    this.calls.push({ op: 'perform', host: a.host, kind: a.kind, at: Date.now() });
    this.onPerform?.(a);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      const f = this.failures.get(a.host)?.shift();
      if (f) throw f;
      const h = this.hosts.get(a.host);
      if (!h) throw new GoughError('not-found', `Host "${a.host}" unknown`);
      if (this.hang.has(a.host)) {
        await new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason), { once: true }));
      }
      h.lifecycle = 'deploying';
      await new Promise((r) => setTimeout(r, this.deployMs));
      h.lifecycle = 'deployed';
      h.power = 'on';
      if (a.specHash) h.deployedSpecHash = a.specHash;
      return { message: `Deployed "${a.host}"` };
    } finally {
      this.active--;
    }
  }

  performs(host?: string): Call[] {
    return this.calls.filter((c) => c.op === 'perform' && (host === undefined || c.host === host));
  }
}
