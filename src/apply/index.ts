export { Journal, JOURNAL_STATES } from './journal.js';
export type { JournalEntry, JournalState, JournalOptions } from './journal.js';
export { Executor, DEFAULT_LIMITS } from './executor.js';
export type { ExecutorLimits, ExecutorEvent, ExecutorDeps, DispatchResult, RecoveryResult, SkipReason, LoggerLike } from './executor.js';
export { effectOf, TRANSITIONAL, PROVISIONING_KINDS } from './effects.js';
export type { EffectState } from './effects.js';
export { RateLimiter } from './rate-limit.js';
export type { RateLimit } from './rate-limit.js';
