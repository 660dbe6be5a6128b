/** The planner: pure `plan()`, its transition table, policy helpers, and the observed-state snapshot format. */
export { actionId } from './action-id.js';
export { OBSERVED_SCHEMA, parseObservedSnapshot } from './observed.js';
export { deployedSpecOf, plan } from './plan.js';
export { countingApprovers, maxUnavailableLimit } from './policy.js';
export type { AgentCol, DesiredCol, HostFacts, LifecycleCol, ObsPowerCol, SpecCol, Outcome as TransitionOutcome, TransitionRow } from './transitions.js';
export { TRANSITIONS, transitionFor } from './transitions.js';
export type { WindowState } from './window.js';
export { checkWindow, parseDuration, windowState, windowsState } from './window.js';
