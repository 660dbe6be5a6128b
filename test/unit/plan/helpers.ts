/** Builders for desired and observed state in tests (the planner takes plain data; no loader needed). */
import type {
  DesiredState,
  Host,
  Lifecycle,
  ObservedHost,
  ObservedState,
  PlanContext,
  Policy,
  PolicySpec,
  PowerState,
  RenderedHost,
  Site,
} from '../../../src/model/index.js';

export type HostOpts = {
  site?: string;
  labels?: Record<string, string>;
  state?: Host['spec']['state'];
  power?: Host['spec']['power'];
};

export function host(name: string, o: HostOpts = {}): Host {
  const h: Host = {
    apiVersion: 'gough.dev/v1',
    kind: 'Host',
    metadata: { name },
    spec: {
      site: o.site ?? 'dc1',
      hardware: { macs: ['52:54:00:00:00:01'], arch: 'amd64', firmware: 'uefi' },
      state: o.state ?? 'deployed',
      power: o.power ?? 'on',
      template: 'base',
    },
  };
  if (o.labels) h.metadata.labels = o.labels;
  return h;
}

export function site(name: string, timezone?: string): Site {
  const s: Site = { apiVersion: 'gough.dev/v1', kind: 'Site', metadata: { name }, spec: { provisioner: 'maas' } };
  if (timezone !== undefined) s.spec.timezone = timezone;
  return s;
}

export function policy(name: string, spec: PolicySpec): Policy {
  return { apiVersion: 'gough.dev/v1', kind: 'Policy', metadata: { name }, spec };
}

export function rendered(name: string, specHash: string): RenderedHost {
  return { host: name, os: { distro: 'ubuntu', series: 'noble' }, userData: '', metaData: '', ipxeScript: '', kernelArgs: '', specHash };
}

/** A desired state; every host is rendered with `specHash` (or the per-host value) unless listed in `unrendered`. */
export function desiredState(
  hosts: Host[],
  o: { policies?: Policy[]; sites?: Site[]; specHash?: string | Record<string, string>; unrendered?: string[]; revision?: string } = {},
): DesiredState {
  const map = new Map<string, RenderedHost>();
  for (const h of hosts) {
    const n = h.metadata.name;
    if (o.unrendered?.includes(n)) continue;
    const hash = typeof o.specHash === 'object' ? (o.specHash[n] ?? 'spec-new') : (o.specHash ?? 'spec-new');
    map.set(n, rendered(n, hash));
  }
  const siteNames = [...new Set(hosts.map((h) => h.spec.site))].sort();
  return {
    revision: o.revision ?? 'rev1',
    sites: o.sites ?? siteNames.map((s) => site(s)),
    hosts,
    templates: [],
    policies: o.policies ?? [],
    config: {},
    rendered: map,
    sources: new Map(),
  };
}

export function obs(name: string, lifecycle: Lifecycle, power: PowerState, extra: Partial<ObservedHost> = {}): ObservedHost {
  return { name, lifecycle, power, provider: { kind: 'maas', id: `id-${name}`, status: lifecycle }, errors: [], ...extra };
}

export function observedState(hosts: ObservedHost[]): ObservedState {
  return { observedAt: '2026-11-23T10:00:00Z', hosts };
}

export function ctx(o: Partial<PlanContext> = {}): PlanContext {
  return { now: '2026-11-23T10:00:00Z', approvals: [], inFlight: [], ...o };
}
