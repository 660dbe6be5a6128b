/**
 * The executor: runs a plan's actions against provisioners, one action per host, with a per-site cap on hosts
 * provisioning at once, per-provider rate limits, retries with exponential backoff and jitter (retryable errors
 * only), per-attempt deadlines, and a terminal failure after `maxAttempts`. Every attempt is journaled `running`
 * before it can touch the world. Actions outlive a pass: `dispatch` starts them and returns at once.
 *
 * Crash safety: entries left `pending`/`running` by an earlier process ("orphans") are reconciled against a fresh
 * observation (`recover`) before anything new is dispatched: done → succeeded, under way → waited on (never
 * re-issued), not done → resumed only if the plan still asks for the same action.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Action, ActionKind, DesiredHost, InFlight, ObservedHost, Provisioner } from '../model/index.js';
import { GoughError, toGoughError } from '../model/index.js';
import { type EffectState, PROVISIONING_KINDS, effectOf } from './effects.js';
import type { Journal, JournalEntry } from './journal.js';
import { type RateLimit, RateLimiter } from './rate-limit.js';

export type ExecutorLimits = {
  /** Hosts of one site provisioning at once (register, commission, deploy, redeploy, release). */
  maxProvisioningPerSite: number;
  /** Attempts before a failure becomes terminal. */
  maxAttempts: number;
  backoff: { baseMs: number; maxMs: number };
  /** Per-attempt deadline in ms, by kind, with a default. */
  deadlineMs: Partial<Record<ActionKind, number>> & { default: number };
  /** Calls per second per provider kind (`maas`, `pxe`, ...); `default` for the rest. */
  rate: Record<string, RateLimit> & { default: RateLimit };
};

export const DEFAULT_LIMITS: ExecutorLimits = {
  maxProvisioningPerSite: 20,
  maxAttempts: 3,
  backoff: { baseMs: 2000, maxMs: 120_000 },
  deadlineMs: { default: 30 * 60_000, 'power-on': 120_000, 'power-off': 120_000, 'power-cycle': 180_000 },
  rate: { default: { perSecond: 20, burst: 20 } },
};

export type ExecutorEvent =
  | { type: 'action-started'; at: string; pass: string; action: Action; attempt: number }
  | {
      type: 'action-finished';
      at: string;
      pass: string;
      action: Action;
      outcome: 'succeeded' | 'failed' | 'retrying';
      message: string;
      attempt: number;
    };

export type LoggerLike = {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
};

export type ExecutorDeps = {
  journal: Journal;
  provisionerFor(site: string): Provisioner;
  limits?: Partial<ExecutorLimits>;
  now?: () => Date;
  /** In [0, 1): jitter source (tests pass a fixed one). */
  random?: () => number;
  onEvent?: (e: ExecutorEvent) => void;
  logger?: LoggerLike;
  /** Per-site cap when lower than `maxProvisioningPerSite` (e.g. a Site's own limit). */
  siteCap?: (site: string) => number | undefined;
};

export type SkipReason = 'host-busy' | 'failed' | 'site-cap' | 'no-target' | 'stopping';
export type DispatchResult = { started: Action[]; skipped: { action: Action; reason: SkipReason }[] };
export type RecoveryResult = { verified: number; waiting: number; requeued: number };

type Task = { entry: JournalEntry; action: Action; promise: Promise<void> };

export class Executor {
  #journal: Journal;
  #provisionerFor: (site: string) => Provisioner;
  #limits: ExecutorLimits;
  #now: () => Date;
  #random: () => number;
  #onEvent: (e: ExecutorEvent) => void;
  #log: LoggerLike | undefined;
  #siteCap: (site: string) => number | undefined;
  /** Live tasks by host. */
  #tasks = new Map<string, Task>();
  /** Orphans (entries of an earlier process) and what the last observation said about them, by seq. */
  #orphans = new Map<number, { entry: JournalEntry; effect: EffectState }>();
  #limiters = new Map<string, RateLimiter>();
  #stopping = false;
  #hard = new AbortController();
  #idleWaiters: (() => void)[] = [];

  constructor(deps: ExecutorDeps) {
    this.#journal = deps.journal;
    this.#provisionerFor = deps.provisionerFor;
    this.#limits = {
      ...DEFAULT_LIMITS,
      ...deps.limits,
      backoff: { ...DEFAULT_LIMITS.backoff, ...deps.limits?.backoff },
      deadlineMs: { ...DEFAULT_LIMITS.deadlineMs, ...deps.limits?.deadlineMs },
      rate: { ...DEFAULT_LIMITS.rate, ...deps.limits?.rate },
    };
    this.#now = deps.now ?? (() => new Date());
    this.#random = deps.random ?? Math.random;
    this.#onEvent = deps.onEvent ?? (() => undefined);
    this.#log = deps.logger;
    this.#siteCap = deps.siteCap ?? (() => undefined);
    for (const e of this.#journal.open()) this.#orphans.set(e.seq, { entry: e, effect: 'unknown' });
  }

  get limits(): Readonly<ExecutorLimits> {
    return this.#limits;
  }

  /** Entries of an earlier process not yet reconciled (pending or running). */
  get orphanCount(): number {
    return this.#orphans.size;
  }

  #iso(): string {
    return this.#now().toISOString();
  }

  /**
   * Reconciles orphans against a fresh observation (by host name). Call before every dispatch; an orphan whose
   * host is busy stays a wait until a later observation shows the outcome.
   */
  recover(observed: ReadonlyMap<string, ObservedHost>): RecoveryResult {
    const r: RecoveryResult = { verified: 0, waiting: 0, requeued: 0 };
    for (const [seq, o] of this.#orphans) {
      const effect = effectOf(o.entry, observed.get(o.entry.host));
      if (effect === 'done') {
        this.#journal.markSucceeded(seq, 'Verified by observation after a restart', this.#iso());
        this.#orphans.delete(seq);
        r.verified++;
        continue;
      }
      o.effect = effect;
      if (effect === 'in-progress') r.waiting++;
      else r.requeued++;
    }
    return r;
  }

  /** What the planner must treat as in flight: live tasks and orphans under way. */
  inFlight(): InFlight[] {
    const out: InFlight[] = [];
    for (const t of this.#tasks.values())
      out.push({
        actionId: t.action.id,
        host: t.action.host,
        kind: t.action.kind,
        state: t.entry.state === 'running' ? 'running' : 'pending',
        since: t.entry.createdAt,
      });
    for (const o of this.#orphans.values())
      if (o.effect === 'in-progress')
        out.push({ actionId: o.entry.actionId, host: o.entry.host, kind: o.entry.kind, state: 'running', since: o.entry.createdAt });
    return out;
  }

  busyHosts(): Set<string> {
    const s = new Set(this.#tasks.keys());
    for (const o of this.#orphans.values()) if (o.effect === 'in-progress') s.add(o.entry.host);
    return s;
  }

  #provisioningCount(site: string): number {
    let n = 0;
    for (const t of this.#tasks.values()) if (t.action.site === site && PROVISIONING_KINDS.has(t.action.kind)) n++;
    for (const o of this.#orphans.values()) if (o.entry.site === site && o.effect === 'in-progress') n++;
    return n;
  }

  /**
   * Starts the plan's actions that may start now, in plan order; returns at once. Orphans that were not done and
   * that the plan no longer asks for are cancelled.
   */
  dispatch(actions: readonly Action[], targets: ReadonlyMap<string, DesiredHost>, ctx: { revision: string; pass: string }): DispatchResult {
    const res: DispatchResult = { started: [], skipped: [] };
    const busy = this.busyHosts();
    const planned = new Set(actions.map((a) => a.id));
    const orphanByAction = new Map<string, number>();
    for (const [seq, o] of this.#orphans) if (o.effect !== 'in-progress') orphanByAction.set(o.entry.actionId, seq);

    for (const action of actions) {
      if (this.#stopping) {
        res.skipped.push({ action, reason: 'stopping' });
        continue;
      }
      if (busy.has(action.host)) {
        res.skipped.push({ action, reason: 'host-busy' });
        continue;
      }
      const latest = this.#journal.latest(action.id);
      if (latest?.state === 'failed' && !latest.rearmed && latest.revision === ctx.revision) {
        res.skipped.push({ action, reason: 'failed' });
        continue;
      }
      const cap = Math.min(this.#limits.maxProvisioningPerSite, this.#siteCap(action.site) ?? Number.POSITIVE_INFINITY);
      if (PROVISIONING_KINDS.has(action.kind) && this.#provisioningCount(action.site) >= cap) {
        res.skipped.push({ action, reason: 'site-cap' });
        continue;
      }
      const target = targets.get(action.host);
      if (!target) {
        res.skipped.push({ action, reason: 'no-target' });
        continue;
      }
      let entry: JournalEntry;
      const orphanSeq = orphanByAction.get(action.id);
      if (orphanSeq !== undefined) {
        // Resume the same entry (attempts carry on); the observation said its effect is not there.
        entry = this.#orphans.get(orphanSeq)!.entry;
        this.#orphans.delete(orphanSeq);
        orphanByAction.delete(action.id);
      } else {
        entry = this.#journal.create(action, ctx.revision, this.#iso());
      }
      busy.add(action.host);
      this.#start(entry, action, target, ctx.pass);
      res.started.push(action);
    }
    // Orphans the plan no longer wants (their host changed course, or a policy now blocks them).
    for (const [actionId, seq] of orphanByAction) {
      if (planned.has(actionId)) continue;
      const o = this.#orphans.get(seq);
      if (!o || busy.has(o.entry.host)) continue;
      this.#journal.markCancelled(seq, 'No longer planned after a restart', this.#iso());
      this.#orphans.delete(seq);
    }
    return res;
  }

  #limiter(kind: string): RateLimiter {
    let l = this.#limiters.get(kind);
    if (!l) {
      l = new RateLimiter(this.#limits.rate[kind] ?? this.#limits.rate.default);
      this.#limiters.set(kind, l);
    }
    return l;
  }

  #start(entry: JournalEntry, action: Action, target: DesiredHost, pass: string): void {
    const task: Task = { entry, action, promise: Promise.resolve() };
    this.#tasks.set(action.host, task);
    task.promise = this.#run(task, target, pass)
      .catch((e: unknown) => {
        this.#log?.error({ pass, host: action.host, err: (e as Error).message }, 'Executor task crashed');
      })
      .finally(() => {
        this.#tasks.delete(action.host);
        if (this.#tasks.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
      });
  }

  #backoffMs(attempts: number, err: GoughError): number {
    if (err.retry.kind === 'after') return Math.max(0, err.retry.ms);
    const d = Math.min(this.#limits.backoff.maxMs, this.#limits.backoff.baseMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(d / 2 + this.#random() * (d / 2));
  }

  #deadlineFor(kind: ActionKind): number {
    return this.#limits.deadlineMs[kind] ?? this.#limits.deadlineMs.default;
  }

  async #observeOne(p: Provisioner, target: DesiredHost, signal: AbortSignal): Promise<ObservedHost | undefined> {
    const hosts = await p.observe([target], { signal });
    return hosts.find((h) => h.name === target.host.metadata.name);
  }

  async #run(task: Task, target: DesiredHost, pass: string): Promise<void> {
    const { action } = task;
    const seq = task.entry.seq;
    const p = this.#provisionerFor(action.site);
    const hard = this.#hard.signal;
    let attempts = task.entry.attempts;
    let checkFirst = attempts > 0;

    for (;;) {
      if (hard.aborted) return;
      const deadlineMs = this.#deadlineFor(action.kind);
      const deadline = AbortSignal.timeout(deadlineMs);
      const signal = AbortSignal.any([deadline, hard]);
      try {
        if (checkFirst) {
          // An earlier attempt may have reached the world: look before acting again.
          let effect = effectOf(action, await this.#observeOne(p, target, signal));
          while (effect === 'in-progress') {
            await sleep(Math.min(this.#limits.backoff.baseMs, 5000), undefined, { signal });
            effect = effectOf(action, await this.#observeOne(p, target, signal));
          }
          if (effect === 'done') {
            this.#journal.markSucceeded(seq, 'Verified by observation', this.#iso());
            this.#emitFinished(pass, action, 'succeeded', 'Verified by observation', attempts);
            return;
          }
        }
        await this.#limiter(p.kind).acquire(signal);
        // The journal says `running` before the first side effect of this attempt.
        task.entry = this.#journal.markRunning(seq, this.#iso());
        attempts = task.entry.attempts;
        this.#onEvent({ type: 'action-started', at: this.#iso(), pass, action, attempt: attempts });
        const outcome = await p.perform(action, target, { signal, deadlineMs, pass });
        this.#journal.markSucceeded(seq, outcome.message, this.#iso());
        this.#emitFinished(pass, action, 'succeeded', outcome.message, attempts);
        return;
      } catch (e) {
        if (hard.aborted) {
          // Shutting down: the outcome is unknown; the entry stays open and is reconciled at the next start.
          this.#log?.warn({ pass, host: action.host, kind: action.kind }, 'Action interrupted by shutdown');
          return;
        }
        let err = toGoughError(e, 'provider-error');
        if (deadline.aborted && err.code !== 'timeout')
          err = new GoughError('timeout', `Action "${action.kind}" on host "${action.host}" did not finish within ${deadlineMs} ms`, {
            retry: { kind: 'backoff' },
            cause: e,
          });
        const retryable = err.retry.kind !== 'never' && attempts < this.#limits.maxAttempts;
        if (!retryable) {
          const message = attempts >= this.#limits.maxAttempts && err.retry.kind !== 'never'
            ? `${err.message} (after ${attempts} attempts)`
            : err.message;
          this.#journal.markFailed(seq, { message, code: err.code }, this.#iso());
          task.entry = { ...task.entry, state: 'failed' };
          this.#emitFinished(pass, action, 'failed', message, attempts);
          return;
        }
        const delay = this.#backoffMs(attempts, err);
        const next = new Date(this.#now().getTime() + delay).toISOString();
        this.#journal.markPending(seq, { now: this.#iso(), error: err.message, errorCode: err.code, nextAttemptAt: next });
        task.entry = { ...task.entry, state: 'pending' };
        this.#emitFinished(pass, action, 'retrying', err.message, attempts);
        try {
          await sleep(delay, undefined, { signal: hard });
        } catch {
          return;
        }
        checkFirst = true;
      }
    }
  }

  #emitFinished(pass: string, action: Action, outcome: 'succeeded' | 'failed' | 'retrying', message: string, attempt: number): void {
    this.#onEvent({ type: 'action-finished', at: this.#iso(), pass, action, outcome, message, attempt });
  }

  /** Number of live tasks. */
  get running(): number {
    return this.#tasks.size;
  }

  /** Resolves when no task is live. */
  idle(): Promise<void> {
    if (this.#tasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops dispatching; lets live tasks finish for up to `graceMs`, then aborts them (their entries stay open and
   * are reconciled at the next start).
   */
  async shutdown(graceMs: number): Promise<{ finished: boolean }> {
    this.#stopping = true;
    if (this.#tasks.size === 0) return { finished: true };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.idle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.#hard.abort(new GoughError('aborted', 'Shutting down'));
      await this.idle();
    }
    return { finished: !timedOut };
  }
}
