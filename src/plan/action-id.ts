import { createHash } from 'node:crypto';
import type { ActionKind } from '../model/index.js';

/**
 * The idempotency key of an action: a hash of (host, kind, specHash, target power), `<kind>-<16 hex>`.
 * The planner passes the specHash only for kinds that apply a spec (deploy, redeploy) and the power only for
 * power-on/power-off, so an unrelated template change does not change the id of, say, a release.
 */
export function actionId(host: string, kind: ActionKind, specHash?: string, power?: 'on' | 'off'): string {
  const h = createHash('sha256').update(`${host}\u0000${kind}\u0000${specHash ?? ''}\u0000${power ?? ''}`).digest('hex');
  return `${kind}-${h.slice(0, 16)}`;
}
