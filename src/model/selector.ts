import type { Host, LabelSelector } from './resources.js';

/** True when the selector selects the host. An empty selector selects every host. */
export function matchesSelector(sel: LabelSelector, host: Host): boolean {
  if (sel.sites && !sel.sites.includes(host.spec.site)) return false;
  if (sel.hosts && !sel.hosts.includes(host.metadata.name)) return false;
  const labels = host.metadata.labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const val = labels[e.key];
    switch (e.operator) {
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      case 'In':
        if (!has || !(e.values ?? []).includes(val as string)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(val as string)) return false;
        break;
    }
  }
  return true;
}
