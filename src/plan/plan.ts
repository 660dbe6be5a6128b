/**
 * `plan(desired, observed, ctx)`: pure and deterministic. For each desired host the transition table
 * (`transitions.ts`) gives an action, a wait or nothing; in-flight work turns into waits; every disruptive action
 * then passes the policies that select its host, in host-name order, or becomes Blocked with every reason.
 * Cost: O(hosts × policies), selector matches computed once per plan.
 */
import type {
  Action,
  ActionKind,
  Approval,
  Blocked,
  BlockReason,
  DesiredState,
  Host,
  InFlight,
  ObservedHost,
  ObservedState,
  Orphan,
  Plan,
  PlanContext,
  PlanSummary,
  Policy,
  Wait,
} from '../model/index.js';
import { ACTION_KINDS, BLOCK_KINDS, GoughError } from '../model/index.js';
import { actionId } from './action-id.js';
import { compareStrings, countingApprovers, describeApprovalRule, maxUnavailableLimit } from './policy.js';
import { compileSelector } from './selector.js';
import type { AgentCol, ObsPowerCol, SpecCol, TransitionRow } from './transitions.js';
import { matchRow } from './transitions.js';
import type { WindowState } from './window.js';
import { windowsState } from './window.js';

/** Kinds that carry the desired specHash in their id. */
const SPEC_KINDS: ReadonlySet<ActionKind> = new Set(['deploy', 'redeploy']);
/** In-flight kinds that count against `rollout.batchSize`. */
const DISRUPTIVE_KINDS: ReadonlySet<ActionKind> = new Set(['redeploy', 'release', 'power-off', 'power-cycle']);

type PolicyState = {
  policy: Policy;
  name: string;
  /** 1 for each selected host (indexed like the sorted host list). */
  mask: Uint8Array;
  /** How many hosts the policy selects. */
  selected: number;
  /** maxUnavailable: how many more hosts may go down; undefined when the policy has no maxUnavailable. */
  budget?: number;
  limit?: number;
  alreadyDown: number;
  limitNote?: string;
  /** rollout.batchSize left for this plan (batch size minus disruptive work already in flight). */
  batchLeft?: number;
  inFlightDisruptive: number;
  approvers: string[];
  approvalsMissing: boolean;
  /** Window state per default time zone (the site's). */
  windows: Map<string, WindowState>;
  /** A focused plan's policy with limits that count hosts it does not see: its disruptive actions are deferred. */
  uncounted: boolean;
};

type Candidate = { action: Action; index: number; up: boolean };

function shortHash(h: string | undefined): string {
  if (h === undefined) return 'unknown';
  return h.length > 12 ? h.slice(0, 12) : h;
}

function fill(why: string, value: (key: string) => string | undefined): string {
  if (!why.includes('{')) return why;
  return why.replace(/\{(\w+)\}/g, (m, k: string) => value(k) ?? m);
}

function obsPowerCol(o: ObservedHost | undefined): ObsPowerCol {
  if (!o) return 'unknown';
  return o.power === 'on' || o.power === 'off' ? o.power : 'unknown';
}

function agentCol(o: ObservedHost | undefined): AgentCol {
  if (!o?.agent) return 'none';
  return o.agent.healthy ? 'healthy' : 'unhealthy';
}

/** The spec deployed on a host: the provider's annotation first (what was deployed), else the agent's report. */
export function deployedSpecOf(o: ObservedHost): string | undefined {
  return o.deployedSpecHash ?? o.agent?.specHash;
}

function specCol(o: ObservedHost | undefined, desired: string | undefined): SpecCol {
  if (desired === undefined) return 'unrendered';
  const deployed = o ? deployedSpecOf(o) : undefined;
  if (deployed === undefined) return 'unknown';
  return deployed === desired ? 'match' : 'mismatch';
}

function parseNow(now: string): Date {
  const d = new Date(now);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(now) || Number.isNaN(d.getTime()))
    throw new GoughError('plan-input', `Cannot plan: "now" is not an ISO 8601 instant: "${now}"`);
  return d;
}

function inFlightReason(f: InFlight, sameAction: boolean): string {
  return sameAction
    ? `Waiting for ${f.kind} (${f.state} since ${f.since})`
    : `Another action is in flight on this host: ${f.kind} (${f.state} since ${f.since})`;
}

function latestUntil(reasons: readonly BlockReason[]): string | undefined {
  let latest: string | undefined;
  for (const r of reasons) {
    if (r.until === undefined) return undefined;
    if (latest === undefined || Date.parse(r.until) > Date.parse(latest)) latest = r.until;
  }
  return latest;
}

const BLOCK_ORDER = new Map(BLOCK_KINDS.map((k, i) => [k, i]));

/** A desired state's hosts in plan order, per site, and what every scoped plan of it looks up. */
type DesiredIndex = {
  all: readonly Host[];
  bySite: ReadonlyMap<string, readonly Host[]>;
  names: ReadonlySet<string>;
  siteTz: ReadonlyMap<string, string>;
};

/**
 * Built once per desired state (states are immutable): a daemon plans each site it serves against the same state,
 * and re-planning after an action finishes reuses it too. Keyed weakly, so it goes with the state.
 */
const indexes = new WeakMap<DesiredState, DesiredIndex>();

/** Plan order: by name, then site. */
function byName(a: Host, b: Host): number {
  return compareStrings(a.metadata.name, b.metadata.name) || compareStrings(a.spec.site, b.spec.site);
}

function indexOf(desired: DesiredState): DesiredIndex {
  let idx = indexes.get(desired);
  if (idx !== undefined) return idx;
  const all = [...desired.hosts];
  let sorted = true;
  for (let i = 1; i < all.length && sorted; i++) if (byName(all[i - 1]!, all[i]!) > 0) sorted = false;
  if (!sorted) all.sort(byName);
  const bySite = new Map<string, Host[]>();
  const names = new Set<string>();
  for (const h of all) {
    names.add(h.metadata.name);
    const list = bySite.get(h.spec.site);
    if (list) list.push(h);
    else bySite.set(h.spec.site, [h]);
  }
  const siteTz = new Map(desired.sites.map((s) => [s.metadata.name, s.spec.timezone ?? 'UTC']));
  idx = { all, bySite, names, siteTz };
  indexes.set(desired, idx);
  return idx;
}

type Inputs = { hosts: readonly Host[]; names: ReadonlySet<string>; siteTz: ReadonlyMap<string, string> };

/** Every host of the state (or of one site), from the state's index. */
function scoped(desired: DesiredState, scope: string | undefined): Inputs {
  const { all, bySite, names, siteTz } = indexOf(desired);
  return { hosts: scope === undefined ? all : (bySite.get(scope) ?? []), names, siteTz };
}

/** A focused plan's hosts (of one site, when scoped), in plan order; costs what they number, not the fleet. */
function focusOf(desired: DesiredState, only: readonly Host[], scope: string | undefined): Inputs {
  const hosts = only.filter((h) => scope === undefined || h.spec.site === scope);
  hosts.sort(byName);
  const siteTz = new Map(desired.sites.map((s) => [s.metadata.name, s.spec.timezone ?? 'UTC']));
  return { hosts, names: new Set(hosts.map((h) => h.metadata.name)), siteTz };
}

export function plan(desired: DesiredState, observed: ObservedState, ctx: PlanContext): Plan {
  const now = parseNow(ctx.now);
  const scope = ctx.site;

  // ---- inputs, normalised to a deterministic order ----------------------------------------------------------------
  // A focused plan (ctx.hosts) looks at its hosts only: nothing here may be linear in the fleet.
  const focused = ctx.hosts !== undefined;
  const { hosts, names: allDesired, siteTz } = focused ? focusOf(desired, ctx.hosts!, scope) : scoped(desired, scope);

  const observedByName = new Map<string, ObservedHost>();
  /** Names the provider reports more than once (all their observations). */
  const duplicates = new Map<string, ObservedHost[]>();
  const orphans: Orphan[] = [];
  for (const o of observed.hosts) {
    if (scope !== undefined && o.site !== undefined && o.site !== scope) continue;
    if (!allDesired.has(o.name)) {
      if (focused) continue;
      const orphan: Orphan = { name: o.name, lifecycle: o.lifecycle, providerId: o.provider.id };
      if (o.site !== undefined) orphan.site = o.site;
      orphans.push(orphan);
      continue;
    }
    const first = observedByName.get(o.name);
    if (first === undefined) observedByName.set(o.name, o);
    else {
      const list = duplicates.get(o.name);
      if (list) list.push(o);
      else duplicates.set(o.name, [first, o]);
    }
  }
  orphans.sort(
    (a, b) =>
      compareStrings(a.site ?? '', b.site ?? '') || compareStrings(a.name, b.name) || compareStrings(a.providerId, b.providerId),
  );

  const inFlightByHost = new Map<string, InFlight[]>();
  for (const f of ctx.inFlight) {
    const list = inFlightByHost.get(f.host);
    if (list) list.push(f);
    else inFlightByHost.set(f.host, [f]);
  }
  for (const list of inFlightByHost.values()) list.sort((a, b) => compareStrings(a.actionId, b.actionId));
  const failedById = new Map((ctx.failed ?? []).map((f) => [f.actionId, f]));
  const approvals: Approval[] = ctx.approvals;

  // ---- per host: the transition table ----------------------------------------------------------------------------
  const actions: Action[] = [];
  const waits: Wait[] = [];
  const candidates: Candidate[] = [];
  const up = new Uint8Array(hosts.length);

  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i]!;
    const name = host.metadata.name;
    const site = host.spec.site;
    const obsList = duplicates.get(name);
    const o = obsList ? undefined : observedByName.get(name);
    const flights = inFlightByHost.get(name);
    if (o && !flights && o.lifecycle === 'deployed' && o.power === 'on') up[i] = 1;

    if (obsList) {
      const ids = obsList.map((x) => x.provider.id).sort(compareStrings);
      waits.push({
        host: name,
        site,
        reason: `Provider reports ${obsList.length} machines for this host (${ids.map((x) => `"${x}"`).join(', ')}): resolve by hand`,
      });
      continue;
    }

    const specHash = desired.rendered.get(name)?.specHash;
    const lifecycle = o ? o.lifecycle : 'absent';
    const row: TransitionRow | undefined = matchRow(host.spec.state, host.spec.power, lifecycle, obsPowerCol(o), specCol(o, specHash), agentCol(o));
    if (!row) throw new GoughError('internal', `No transition for host "${name}" (observed ${lifecycle})`);
    if (row.outcome === 'none' && !flights) continue;
    const reason = fill(row.why, (k) => {
      if (k === 'desired') return shortHash(specHash);
      if (k === 'deployed') return shortHash(o ? deployedSpecOf(o) : undefined);
      if (k === 'status') return `"${o?.provider.status ?? 'unknown'}"`;
      if (k === 'power') return `"${o?.power ?? 'unknown'}"`;
      return undefined;
    });

    let action: Action | undefined;
    if (row.outcome !== 'wait' && row.outcome !== 'none') {
      const kind = row.outcome;
      const power = kind === 'power-on' ? 'on' : kind === 'power-off' ? 'off' : undefined;
      const hash = SPEC_KINDS.has(kind) ? specHash : undefined;
      action = { id: actionId(name, kind, hash, power), host: name, site, kind, reason, disruptive: row.disruptive };
      if (hash !== undefined) action.specHash = hash;
      if (power !== undefined) action.power = power;
    }

    if (flights) {
      const f = flights.find((x) => x.actionId === action?.id) ?? flights[0]!;
      waits.push({ host: name, site, reason: inFlightReason(f, action === undefined || f.actionId === action.id), actionId: f.actionId });
      continue;
    }
    if (row.outcome === 'wait') {
      waits.push({ host: name, site, reason });
      continue;
    }
    if (action) candidates.push({ action, index: i, up: up[i] === 1 });
  }

  // ---- policies: selections and limits, once per plan -------------------------------------------------------------
  const policies = [...desired.policies].sort((a, b) => compareStrings(a.metadata.name, b.metadata.name));
  const states: PolicyState[] = [];
  for (const policy of policies) {
    // one pass over the hosts per policy: membership, and the counts maxUnavailable and rollout need
    const matches = compileSelector(policy.spec.selector);
    const mask = new Uint8Array(hosts.length);
    let selected = 0;
    let down = 0;
    let flying = 0;
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts[i]!;
      if (!matches(h)) continue;
      mask[i] = 1;
      selected++;
      if (h.spec.state === 'deployed' && h.spec.power === 'on' && up[i] === 0) down++;
      const flights = inFlightByHost.get(h.metadata.name);
      if (flights) for (const f of flights) if (DISRUPTIVE_KINDS.has(f.kind)) flying++;
    }
    const st: PolicyState = {
      policy,
      name: policy.metadata.name,
      mask,
      selected,
      alreadyDown: 0,
      inFlightDisruptive: 0,
      approvers: [],
      approvalsMissing: false,
      windows: new Map(),
      uncounted: focused && (policy.spec.maxUnavailable !== undefined || policy.spec.rollout !== undefined),
    };
    // An uncounted policy's limits stay unset: the actions they would gate are deferred.
    if (policy.spec.maxUnavailable !== undefined && !st.uncounted) {
      const { limit, note } = maxUnavailableLimit(policy.spec.maxUnavailable, selected);
      st.limit = limit;
      st.alreadyDown = down;
      st.budget = limit - down;
      if (note !== undefined) st.limitNote = note;
    }
    if (policy.spec.rollout && !st.uncounted) {
      st.inFlightDisruptive = flying;
      st.batchLeft = policy.spec.rollout.batchSize - flying;
    }
    if (policy.spec.requireApprovals) {
      st.approvers = countingApprovers(approvals, policy.spec.requireApprovals.from);
      st.approvalsMissing = st.approvers.length < policy.spec.requireApprovals.count;
    }
    states.push(st);
  }

  // ---- gate every candidate, in host-name order -------------------------------------------------------------------
  const blocked: Blocked[] = [];
  const deferred: Action[] = [];
  for (const c of candidates) {
    const { action } = c;
    const reasons: BlockReason[] = [];
    let undecided = false;
    const failed =
      failedById.get(action.id) ??
      (action.kind === 'deploy' || action.kind === 'redeploy'
        ? failedById.get(actionId(action.host, action.kind === 'deploy' ? 'redeploy' : 'deploy', action.specHash))
        : undefined);
    if (failed) {
      const err = failed.error.length > 200 ? `${failed.error.slice(0, 197)}...` : failed.error;
      reasons.push({
        kind: 'failed',
        message: `${failed.kind} failed after ${failed.attempts} attempt${failed.attempts === 1 ? '' : 's'} (${err}): run "gough retry ${action.host}" or change the host's spec to try again`,
      });
    }
    if (action.disruptive) {
      for (const st of states) {
        if (st.mask[c.index] === 0) continue;
        const spec = st.policy.spec;
        const named = `Policy "${st.name}"`;
        if (st.uncounted) undecided = true;
        if (spec.protect) reasons.push({ kind: 'protected', policy: st.name, message: `${named} protects this host from disruptive actions` });
        if (spec.maintenanceWindows && spec.maintenanceWindows.length > 0) {
          const tz = siteTz.get(action.site) ?? 'UTC';
          let ws = st.windows.get(tz);
          if (!ws) {
            ws = windowsState(spec.maintenanceWindows, now, tz);
            st.windows.set(tz, ws);
          }
          if (!ws.open) {
            const list = spec.maintenanceWindows.map((w) => `"${w.schedule}" for ${w.duration} (${w.timezone ?? tz})`).join(', ');
            const plural = spec.maintenanceWindows.length === 1 ? 'window' : 'windows';
            const r: BlockReason = { kind: 'window', policy: st.name, message: '' };
            if ('invalid' in ws) r.message = `${named} has no valid maintenance window (${ws.invalid})`;
            else {
              r.message = `${named} allows disruptive actions only in its maintenance ${plural} ${list}: closed${ws.opens ? `, opens ${ws.opens}` : ''}`;
              if (ws.opens !== undefined) r.until = ws.opens;
            }
            reasons.push(r);
          }
        }
        if (spec.requireApprovals && st.approvalsMissing) {
          const given = st.approvers.length === 0 ? 'none given' : `${st.approvers.length} given (${st.approvers.join(', ')})`;
          reasons.push({ kind: 'approval', policy: st.name, message: `${named} requires ${describeApprovalRule(st.policy)}: ${given}` });
        }
        if (st.budget !== undefined && c.up && st.budget < 1) {
          const note = st.limitNote ? ` (${st.limitNote})` : '';
          reasons.push({
            kind: 'max-unavailable',
            policy: st.name,
            message: `${named} allows at most ${st.limit} of its ${st.selected} hosts unavailable${note}: ${st.alreadyDown} already down, ${st.limit! - st.alreadyDown - st.budget} taken by this plan`,
          });
        }
        if (st.batchLeft !== undefined && st.batchLeft < 1) {
          reasons.push({
            kind: 'rollout',
            policy: st.name,
            message: `${named} rolls out at most ${st.policy.spec.rollout!.batchSize} disruptive action${st.policy.spec.rollout!.batchSize === 1 ? '' : 's'} at a time: ${st.inFlightDisruptive} in flight, ${st.policy.spec.rollout!.batchSize - st.inFlightDisruptive - st.batchLeft} in this plan`,
          });
        }
      }
    }
    if (reasons.length === 0 && undecided) {
      deferred.push(action);
      continue;
    }
    if (reasons.length === 0) {
      actions.push(action);
      if (action.disruptive) {
        for (const st of states) {
          if (st.mask[c.index] === 0) continue;
          if (st.budget !== undefined && c.up) st.budget--;
          if (st.batchLeft !== undefined) st.batchLeft--;
        }
      }
      continue;
    }
    reasons.sort(
      (a, b) =>
        BLOCK_ORDER.get(a.kind)! - BLOCK_ORDER.get(b.kind)! || compareStrings(a.policy ?? '', b.policy ?? ''),
    );
    const b: Blocked = { action, reasons };
    const until = latestUntil(reasons);
    if (until !== undefined) b.until = until;
    blocked.push(b);
  }

  const out: Plan = { revision: desired.revision, actions, waits, blocked, orphans, summary: summarize(hosts.length, actions, waits, blocked, orphans) };
  if (focused) out.deferred = deferred;
  return out;
}

function summarize(hosts: number, actions: Action[], waits: Wait[], blocked: Blocked[], orphans: Orphan[]): PlanSummary {
  const counts = new Map<ActionKind, number>();
  let disruptive = 0;
  for (const a of actions) {
    counts.set(a.kind, (counts.get(a.kind) ?? 0) + 1);
    if (a.disruptive) disruptive++;
  }
  const byKind: Partial<Record<ActionKind, number>> = {};
  for (const k of ACTION_KINDS) {
    const n = counts.get(k);
    if (n !== undefined) byKind[k] = n;
  }
  return {
    hosts,
    actions: actions.length,
    disruptive,
    waits: waits.length,
    blocked: blocked.length,
    orphans: orphans.length,
    byKind,
    converged: actions.length === 0 && waits.length === 0 && blocked.length === 0,
  };
}
