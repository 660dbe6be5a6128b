import type { Host, LabelSelector } from '../model/index.js';

/**
 * A label selector compiled once per plan: the same answers as `matchesSelector` from model (a property test
 * checks), without re-reading the selector's objects for every host. Used for O(hosts × policies) planning.
 */
export function compileSelector(sel: LabelSelector): (host: Host) => boolean {
  const sites = sel.sites ? new Set(sel.sites) : undefined;
  const names = sel.hosts ? new Set(sel.hosts) : undefined;
  const labels = Object.entries(sel.matchLabels ?? {});
  const exprs = (sel.matchExpressions ?? []).map((e) => ({ key: e.key, op: e.operator, values: new Set(e.values ?? []) }));
  return (host: Host): boolean => {
    if (sites && !sites.has(host.spec.site)) return false;
    if (names && !names.has(host.metadata.name)) return false;
    const l = host.metadata.labels ?? {};
    for (const [k, v] of labels) if (l[k] !== v) return false;
    for (const e of exprs) {
      const has = Object.hasOwn(l, e.key);
      switch (e.op) {
        case 'Exists':
          if (!has) return false;
          break;
        case 'DoesNotExist':
          if (has) return false;
          break;
        case 'In':
          if (!has || !e.values.has(l[e.key] as string)) return false;
          break;
        case 'NotIn':
          if (has && e.values.has(l[e.key] as string)) return false;
          break;
      }
    }
    return true;
  };
}
