/**
 * The plan as JSON (`gough plan --format json`), documented in docs/plan.md and `schemas/plan.schema.json`.
 * Keys are written in a fixed order so the same plan always gives the same bytes.
 */
import type { Action, Blocked, BlockReason, Orphan, Plan, PlanSummary, Wait } from '../model/index.js';
import { ACTION_KINDS } from '../model/index.js';

function action(a: Action): Record<string, unknown> {
  const o: Record<string, unknown> = { id: a.id, host: a.host, kind: a.kind, reason: a.reason, disruptive: a.disruptive, site: a.site };
  if (a.specHash !== undefined) o['specHash'] = a.specHash;
  if (a.power !== undefined) o['power'] = a.power;
  return o;
}

function wait(w: Wait): Record<string, unknown> {
  const o: Record<string, unknown> = { host: w.host, reason: w.reason };
  if (w.site !== undefined) o['site'] = w.site;
  if (w.actionId !== undefined) o['actionId'] = w.actionId;
  return o;
}

function reason(r: BlockReason): Record<string, unknown> {
  const o: Record<string, unknown> = { kind: r.kind, message: r.message };
  if (r.policy !== undefined) o['policy'] = r.policy;
  if (r.until !== undefined) o['until'] = r.until;
  return o;
}

function blocked(b: Blocked): Record<string, unknown> {
  const o: Record<string, unknown> = { action: action(b.action), reasons: b.reasons.map(reason) };
  if (b.until !== undefined) o['until'] = b.until;
  return o;
}

function orphan(x: Orphan): Record<string, unknown> {
  const o: Record<string, unknown> = { name: x.name };
  if (x.site !== undefined) o['site'] = x.site;
  o['lifecycle'] = x.lifecycle;
  o['providerId'] = x.providerId;
  return o;
}

function summary(s: PlanSummary): Record<string, unknown> {
  const byKind: Record<string, number> = {};
  for (const k of ACTION_KINDS) {
    const n = s.byKind[k];
    if (n !== undefined) byKind[k] = n;
  }
  return {
    hosts: s.hosts,
    actions: s.actions,
    disruptive: s.disruptive,
    waits: s.waits,
    blocked: s.blocked,
    orphans: s.orphans,
    byKind,
    converged: s.converged,
  };
}

/** The plan as a plain JSON value with a fixed key order. */
export function planToJson(plan: Plan): Record<string, unknown> {
  return {
    revision: plan.revision,
    actions: plan.actions.map(action),
    waits: plan.waits.map(wait),
    blocked: plan.blocked.map(blocked),
    orphans: plan.orphans.map(orphan),
    summary: summary(plan.summary),
  };
}

/** Pretty-printed JSON (2 spaces) with a final newline. */
export function renderPlanJson(plan: Plan): string {
  return `${JSON.stringify(planToJson(plan), null, 2)}\n`;
}
