/**
 * Prometheus metrics derived from what the daemon shows: counters and the pass histogram follow
 * `DaemonEvent`s as they happen; gauges (hosts by lifecycle, revisions, last successful pass) are read
 * from the snapshot at scrape time, so they are never stale and need no bookkeeping here.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BLOCK_KINDS, LIFECYCLES } from '../model/index.js';
import type { BlockKind } from '../model/index.js';
import type { DaemonEvent, DaemonView } from './view.js';

export type DaemonMetrics = {
  readonly registry: Registry;
  /** Stops following the view's events. */
  close(): void;
};

export type MetricsOptions = {
  /** Registry to register on; a fresh one by default (never the global one, so tests stay independent). */
  registry?: Registry;
  /** Prefix of every metric name. */
  prefix?: string;
};

/** Pass durations span milliseconds (nothing to do) to many minutes (a rollout of large fleets). */
const PASS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export function createDaemonMetrics(view: DaemonView, opts: MetricsOptions = {}): DaemonMetrics {
  const registry = opts.registry ?? new Registry();
  const p = opts.prefix ?? 'gough_';

  const passDuration = new Histogram({
    name: `${p}pass_duration_seconds`,
    help: 'Duration of reconcile passes, by result',
    labelNames: ['result'] as const,
    buckets: PASS_BUCKETS,
    registers: [registry],
  });
  const passes = new Counter({
    name: `${p}passes_total`,
    help: 'Reconcile passes finished, by result',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const actions = new Counter({
    name: `${p}actions_total`,
    help: 'Actions finished, by kind and outcome (succeeded, failed, retrying)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const actionsStarted = new Counter({
    name: `${p}actions_started_total`,
    help: 'Actions started, by kind',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  let lastBlocked: Partial<Record<BlockKind, number>> | undefined;
  new Gauge({
    name: `${p}blocked_actions`,
    help: 'Actions blocked by policy in the last pass, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const counts = lastBlocked ?? blockedFromSnapshot(view);
      for (const reason of BLOCK_KINDS) this.set({ reason }, counts[reason] ?? 0);
    },
  });
  new Gauge({
    name: `${p}hosts`,
    help: 'Hosts by site and observed lifecycle',
    labelNames: ['site', 'lifecycle'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const snap = view.snapshot();
      const counts = new Map<string, Map<string, number>>();
      for (const site of snap.sites) counts.set(site, new Map());
      for (const h of snap.hosts) {
        const bySite = counts.get(h.site) ?? new Map<string, number>();
        counts.set(h.site, bySite);
        bySite.set(h.observed.lifecycle, (bySite.get(h.observed.lifecycle) ?? 0) + 1);
      }
      for (const [site, bySite] of counts) {
        for (const lifecycle of LIFECYCLES) this.set({ site, lifecycle }, bySite.get(lifecycle) ?? 0);
      }
    },
  });
  new Gauge({
    name: `${p}desired_revision_info`,
    help: 'The desired revision (label), value 1',
    labelNames: ['revision'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const rev = view.snapshot().desiredRevision;
      if (rev !== undefined) this.set({ revision: rev }, 1);
    },
  });
  new Gauge({
    name: `${p}applied_revision_info`,
    help: 'The revision the daemon acts on (label), value 1',
    labelNames: ['revision'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const rev = view.snapshot().appliedRevision;
      if (rev !== undefined) this.set({ revision: rev }, 1);
    },
  });
  new Gauge({
    name: `${p}invalid_revision`,
    help: '1 when the newest revision failed validation and is not applied',
    registers: [registry],
    collect() {
      this.set(view.snapshot().invalidRevision === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: `${p}last_successful_pass_timestamp_seconds`,
    help: 'Unix time of the end of the last successful pass (0 before the first)',
    registers: [registry],
    collect() {
      const at = view.snapshot().lastSuccessfulPassAt;
      const ms = at === undefined ? Number.NaN : Date.parse(at);
      this.set(Number.isFinite(ms) ? ms / 1000 : 0);
    },
  });

  const onEvent = (e: DaemonEvent): void => {
    switch (e.type) {
      case 'pass-finished': {
        const result = e.ok ? 'ok' : 'failed';
        passDuration.observe({ result }, e.durationMs / 1000);
        passes.inc({ result });
        lastBlocked = e.blocked;
        return;
      }
      case 'action-started':
        actionsStarted.inc({ kind: e.kind });
        return;
      case 'action-finished':
        actions.inc({ kind: e.kind, outcome: e.outcome });
        return;
      default:
        return;
    }
  };
  const unsubscribe = view.subscribe(onEvent);
  return {
    registry,
    close: unsubscribe,
  };
}

function blockedFromSnapshot(view: DaemonView): Partial<Record<BlockKind, number>> {
  const out: Partial<Record<BlockKind, number>> = {};
  for (const h of view.snapshot().hosts) {
    for (const r of h.blocked) out[r.kind] = (out[r.kind] ?? 0) + 1;
  }
  return out;
}
