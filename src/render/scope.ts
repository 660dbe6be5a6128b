/**
 * What a template sees: `host`, `site` and `vars`. Built fresh per host from plain data only
 * (no functions, no class instances), so nothing in the scope can run code.
 */
import type { Host, Site, Template } from '../model/index.js';
import { bootMacOf, hostnameOf } from '../model/index.js';

/** The OS a host gets when its spec names none. */
export const DEFAULT_OS = { distro: 'ubuntu', series: 'noble' } as const;

export type VarValue = string | number | boolean;

export type HostScope = {
  name: string;
  hostname: string;
  site: string;
  labels: Record<string, string>;
  macs: string[];
  bootMac?: string;
  arch: string;
  firmware: string;
  os: { distro: string; series: string };
  address?: string;
  gateway?: string;
  dns?: string[];
};

export type Scope = {
  host: HostScope;
  site: Record<string, unknown>;
  vars: Record<string, VarValue>;
};

export function osOf(host: Host): { distro: string; series: string } {
  return host.spec.os ?? DEFAULT_OS;
}

function hostScope(host: Host, site: Site): HostScope {
  const hw = host.spec.hardware;
  const scope: HostScope = {
    name: host.metadata.name,
    hostname: hostnameOf(host),
    site: host.spec.site,
    labels: { ...(host.metadata.labels ?? {}) },
    macs: [...hw.macs],
    arch: hw.arch,
    firmware: hw.firmware,
    os: { ...osOf(host) },
  };
  const bootMac = bootMacOf(host);
  if (bootMac !== undefined) scope.bootMac = bootMac;
  const net = host.spec.network;
  if (net?.address !== undefined) scope.address = net.address;
  const gateway = net?.gateway ?? site.spec.pxe?.router;
  if (gateway !== undefined) scope.gateway = gateway;
  const dns = net?.dns ?? site.spec.pxe?.dns;
  if (dns !== undefined) scope.dns = [...dns];
  return scope;
}

/** A deep copy of plain data without secret references (every key ending in `Ref`). */
function withoutRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutRefs);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith('Ref')) continue;
      out[k] = withoutRefs(v);
    }
    return out;
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Site scopes are shared by every host of the site (frozen, so no render can change another's view). */
const siteScopes = new WeakMap<Site, Record<string, unknown>>();

/** `site.name` plus the site's spec without secret references. */
export function siteScope(site: Site): Record<string, unknown> {
  let s = siteScopes.get(site);
  if (s === undefined) {
    s = deepFreeze({ name: site.metadata.name, ...(withoutRefs(site.spec) as Record<string, unknown>) });
    siteScopes.set(site, s);
  }
  return s;
}

/** Template defaults overlaid by the host's own vars. */
export function varsOf(host: Host, template: Template | undefined): Record<string, VarValue> {
  const vars: Record<string, VarValue> = {};
  for (const [k, v] of Object.entries(template?.spec.vars ?? {})) {
    if (v.default !== undefined) vars[k] = v.default;
  }
  for (const [k, v] of Object.entries(host.spec.vars ?? {})) vars[k] = v;
  return vars;
}

export function scopeOf(host: Host, site: Site, template: Template | undefined): Scope {
  return { host: hostScope(host, site), site: siteScope(site), vars: varsOf(host, template) };
}
