/**
 * What an action's effect looks like in a fresh observation. Used to verify after a restart (and before a retry)
 * whether an action that may have started already took effect, is still under way, or never reached the world.
 */
import type { Action, ActionKind, ObservedHost } from '../model/index.js';

/** Lifecycles in which the provider is busy with a host: never act on it, wait. */
export const TRANSITIONAL = new Set(['commissioning', 'deploying', 'releasing'] as const);

/** Kinds that keep a host busy for minutes (counted against the per-site provisioning cap). */
export const PROVISIONING_KINDS: ReadonlySet<ActionKind> = new Set(['register', 'commission', 'deploy', 'redeploy', 'release']);

export type EffectState = 'done' | 'in-progress' | 'not-done' | 'unknown';

/** Where `action` stands according to `observed` (undefined: the provider does not know the host). */
export function effectOf(action: Pick<Action, 'kind' | 'specHash' | 'power'>, observed: ObservedHost | undefined): EffectState {
  if (!observed) return action.kind === 'register' ? 'not-done' : 'unknown';
  if ((TRANSITIONAL as Set<string>).has(observed.lifecycle)) return 'in-progress';
  switch (action.kind) {
    case 'register':
      return observed.lifecycle === 'unknown' ? 'not-done' : 'done';
    case 'commission':
      return observed.lifecycle === 'ready' || observed.lifecycle === 'allocated' || observed.lifecycle === 'deployed'
        ? 'done'
        : 'not-done';
    case 'deploy':
    case 'redeploy':
      if (observed.lifecycle !== 'deployed') return 'not-done';
      if (action.specHash === undefined || observed.deployedSpecHash === undefined) return 'done';
      return observed.deployedSpecHash === action.specHash ? 'done' : 'not-done';
    case 'release':
      return observed.lifecycle === 'ready' || observed.lifecycle === 'new' ? 'done' : 'not-done';
    case 'power-on':
      return observed.power === 'on' ? 'done' : observed.power === 'off' ? 'not-done' : 'unknown';
    case 'power-off':
      return observed.power === 'off' ? 'done' : observed.power === 'on' ? 'not-done' : 'unknown';
    case 'power-cycle':
      // A cycle leaves no trace in the power state: a host that is on is taken as cycled (never cycle twice).
      return observed.power === 'on' ? 'done' : 'unknown';
    case 'set-boot':
    case 'pxe-update':
      return 'not-done';
  }
}
