/**
 * Properties of plan() over thousands of generated fleets: convergence, maxUnavailable, protection, and
 * independence from input order. The checks recompute what they need independently of the planner's code.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  Action,
  ActionKind,
  Approval,
  DesiredState,
  InFlight,
  LabelSelector,
  Lifecycle,
  ObservedHost,
  ObservedState,
  PlanContext,
  Policy,
  PolicySpec,
} from '../../../src/model/index.js';
import { ACTION_KINDS, matchesSelector } from '../../../src/model/index.js';
import { plan } from '../../../src/plan/index.js';
import { renderPlanJson } from '../../../src/report/index.js';
import { desiredState, host, obs, policy, site } from './helpers.js';

const NOW = '2026-11-23T10:00:00Z';
const SPECS = ['spec-a', 'spec-b', 'spec-c'] as const;
const LABEL = fc.record({ role: fc.constantFrom('web', 'db', 'cache'), rack: fc.constantFrom('r1', 'r2') });

type World = { desired: DesiredState; observed: ObservedState; ctx: PlanContext };

const hostArb = fc.record({
  site: fc.constantFrom('dc1', 'dc2'),
  labels: LABEL,
  state: fc.constantFrom('deployed', 'deployed', 'deployed', 'ready', 'absent'),
  power: fc.constantFrom('on', 'on', 'off'),
  spec: fc.constantFrom(...SPECS),
  rendered: fc.boolean(),
  observed: fc.option(
    fc.record({
      lifecycle: fc.constantFrom<Lifecycle>('unknown', 'new', 'commissioning', 'ready', 'allocated', 'deploying', 'deployed', 'deployed', 'deployed', 'releasing', 'failed', 'broken'),
      power: fc.constantFrom('on', 'on', 'off', 'unknown', 'error'),
      deployed: fc.option(fc.constantFrom(...SPECS)),
      agent: fc.option(fc.record({ healthy: fc.boolean(), spec: fc.option(fc.constantFrom(...SPECS)) })),
    }),
    { freq: 5 },
  ),
});

const windowArb = fc.constantFrom(
  { schedule: '* * * * *', duration: '2h' }, // always open
  { schedule: '0 22 * * 6', duration: '4h', timezone: 'Europe/Berlin' }, // closed at NOW
  { schedule: '0 8 * * 1', duration: '4h' }, // open at NOW (Monday 08:00-12:00 UTC)
);

const policyArb = (opts: { protect: boolean; zeroLimits: boolean; closedWindows: boolean; missingApprovals: boolean }) =>
  fc.record(
    {
      selector: fc.oneof(
        fc.constant<LabelSelector>({}),
        LABEL.map((l): LabelSelector => ({ matchLabels: { role: l.role } })),
        LABEL.map((l): LabelSelector => ({ matchLabels: { rack: l.rack } })),
        fc.constantFrom('dc1', 'dc2').map((s): LabelSelector => ({ sites: [s] })),
        fc.constant<LabelSelector>({ matchExpressions: [{ key: 'role', operator: 'In', values: ['web', 'cache'] }] }),
      ),
      maxUnavailable: fc.oneof(
        fc.integer({ min: opts.zeroLimits ? 0 : 1, max: 4 }),
        fc.constantFrom(...(opts.zeroLimits ? ['0%', '10%', '34%', '50%', '100%'] : ['10%', '34%', '50%', '100%'])),
      ),
      protect: opts.protect ? fc.boolean() : fc.constant(false),
      rollout: fc.integer({ min: 1, max: 3 }).map((batchSize) => ({ batchSize })),
      windows: fc.array(opts.closedWindows ? windowArb : fc.constant({ schedule: '* * * * *', duration: '2h' }), { maxLength: 2 }),
      approvals: fc.option(
        fc.record({ count: fc.integer({ min: 1, max: opts.missingApprovals ? 3 : 1 }), from: fc.option(fc.constantFrom(['alice'], ['@acme/sre'], ['alice', 'bob'])) }),
      ),
    },
    { requiredKeys: ['selector'] },
  );

type GenOpts = { protect: boolean; zeroLimits: boolean; closedWindows: boolean; missingApprovals: boolean; inFlight: boolean };

function worldArb(o: GenOpts): fc.Arbitrary<World> {
  return fc
    .record({
      hosts: fc.array(hostArb, { maxLength: 24 }),
      policies: fc.array(policyArb(o), { maxLength: 4 }),
      orphans: fc.array(fc.constantFrom<Lifecycle>('deployed', 'ready', 'new'), { maxLength: 3 }),
      flying: (o.inFlight ? fc.array(fc.tuple(fc.nat(), fc.constantFrom(...ACTION_KINDS)), { maxLength: 4 }) : fc.constant([])) as fc.Arbitrary<[number, ActionKind][]>,
      approvals: fc.constantFrom<Approval[][]>([], [{ user: 'alice' }], [{ user: 'alice' }, { user: 'bob', teams: ['acme/sre'] }]),
    })
    .map(({ hosts, policies, orphans, flying, approvals }) => {
      const hs = hosts.map((h, i) => host(`h${String(i).padStart(2, '0')}`, { site: h.site, labels: h.labels, state: h.state, power: h.power }));
      const specHash: Record<string, string> = {};
      const unrendered: string[] = [];
      const observed: ObservedHost[] = [];
      hosts.forEach((h, i) => {
        const name = hs[i]!.metadata.name;
        specHash[name] = h.spec;
        if (!h.rendered) unrendered.push(name);
        if (h.observed) {
          const x = obs(name, h.observed.lifecycle, h.observed.power, { site: h.site });
          if (h.observed.deployed) x.deployedSpecHash = h.observed.deployed;
          if (h.observed.agent) {
            x.agent = { lastSeen: NOW, healthy: h.observed.agent.healthy };
            if (h.observed.agent.spec) x.agent.specHash = h.observed.agent.spec;
          }
          observed.push(x);
        }
      });
      orphans.forEach((l, i) => {
        observed.push(obs(`orphan-${i}`, l, 'on', { site: i % 2 ? 'dc1' : 'dc2' }));
      });
      const pols: Policy[] = policies.map((p, i) => {
        const spec: PolicySpec = { selector: p.selector };
        if (p.maxUnavailable !== undefined) spec.maxUnavailable = p.maxUnavailable;
        if (p.protect) spec.protect = true;
        if (p.rollout) spec.rollout = p.rollout;
        if (p.windows && p.windows.length > 0) spec.maintenanceWindows = p.windows;
        if (p.approvals) {
          spec.requireApprovals = { count: p.approvals.count };
          if (p.approvals.from) spec.requireApprovals.from = [...p.approvals.from];
        }
        return policy(`p${i}`, spec);
      });
      const inFlight: InFlight[] = hs.length === 0 ? [] : flying.map(([n, kind]) => ({ actionId: `${kind}-fly${n}`, host: hs[n % hs.length]!.metadata.name, kind, state: 'running', since: NOW }));
      const desired = desiredState(hs, { policies: pols, specHash, unrendered, sites: [site('dc1'), site('dc2', 'America/New_York')] });
      return { desired, observed: { observedAt: NOW, hosts: observed }, ctx: { now: NOW, approvals, inFlight } };
    });
}

/** The effect each action has when it succeeds, as a provider would then report it. */
function applySucceeded(o: ObservedState, actions: Action[]): ObservedState {
  const byHost = new Map(actions.map((a) => [a.host, a]));
  const hosts: ObservedHost[] = [];
  const seen = new Set<string>();
  for (const h of o.hosts) {
    seen.add(h.name);
    const a = byHost.get(h.name);
    hosts.push(a ? effect(h, a) : progress(h));
  }
  for (const a of actions) if (!seen.has(a.host)) hosts.push(effect(obs(a.host, 'unknown', 'unknown', { site: a.site }), a));
  return { observedAt: o.observedAt, hosts };
}

function effect(h: ObservedHost, a: Action): ObservedHost {
  const x: ObservedHost = { ...h };
  switch (a.kind) {
    case 'register':
      return { ...x, lifecycle: 'new', power: 'off' };
    case 'commission':
      return { ...x, lifecycle: 'ready', power: 'off' };
    case 'deploy':
    case 'redeploy':
      x.lifecycle = 'deployed';
      x.power = 'on';
      x.deployedSpecHash = a.specHash!;
      if (x.agent) x.agent = { lastSeen: NOW, healthy: true, specHash: a.specHash! };
      return x;
    case 'release':
      delete x.deployedSpecHash;
      delete x.agent;
      return { ...x, lifecycle: 'ready', power: 'off' };
    case 'power-on':
      return { ...x, power: 'on' };
    case 'power-off':
      return { ...x, power: 'off' };
    case 'power-cycle':
      return { ...x, power: 'on', agent: { lastSeen: NOW, healthy: true, ...(x.agent?.specHash ? { specHash: x.agent.specHash } : {}) } };
    default:
      return x;
  }
}

/** The world moving on by itself: transitional states finish. */
function progress(h: ObservedHost): ObservedHost {
  if (h.lifecycle === 'commissioning' || h.lifecycle === 'releasing') return { ...h, lifecycle: 'ready', power: 'off' };
  if (h.lifecycle === 'deploying') return { ...h, lifecycle: 'deployed', power: 'on' };
  if (h.lifecycle === 'unknown' || h.lifecycle === 'broken') return { ...h, lifecycle: 'new', power: 'off' };
  if (h.power === 'unknown' || h.power === 'error') return { ...h, power: 'off' };
  return h;
}

function shuffle<T>(xs: readonly T[], keys: readonly number[]): T[] {
  return xs
    .map((x, i) => [x, keys[i % Math.max(1, keys.length)]! * 1000 + ((i * 7919) % 1000)] as const)
    .sort((a, b) => a[1] - b[1])
    .map(([x]) => x);
}

const RUNS = 1500;

describe('plan properties', () => {
  it('(a) converges: applying the actions as if they succeeded, re-planning, reaches a plan with no actions', () => {
    fc.assert(
      fc.property(worldArb({ protect: false, zeroLimits: false, closedWindows: false, missingApprovals: false, inFlight: false }), (w) => {
        // every host rendered: an unrendered host waits for the repository to be fixed, by design
        const desired: DesiredState = { ...w.desired, rendered: new Map(w.desired.hosts.map((h) => [h.metadata.name, { ...w.desired.rendered.get(h.metadata.name) ?? { host: h.metadata.name, os: { distro: 'ubuntu', series: 'noble' }, userData: '', metaData: '', ipxeScript: '', kernelArgs: '', specHash: 'spec-a' } }])) };
        const ctx: PlanContext = { ...w.ctx, approvals: [{ user: 'alice' }, { user: 'bob', teams: ['acme/sre'] }, { user: 'carol' }] };
        let observed = w.observed;
        const seenIds = new Set<string>();
        const bound = 8 + 6 * desired.hosts.length;
        for (let pass = 0; pass < bound; pass++) {
          const p = plan(desired, observed, ctx);
          for (const b of p.blocked) for (const r of b.reasons) expect(['max-unavailable', 'rollout']).toContain(r.kind);
          if (p.actions.length === 0 && p.blocked.length === 0) {
            // converged: nothing left to do, and what waits is only what no action can change
            expect(p.summary.actions).toBe(0);
            return;
          }
          // progress: the same action is never issued twice after it succeeded
          for (const a of p.actions) {
            expect(seenIds.has(a.id), `${a.id} issued again`).toBe(false);
            seenIds.add(a.id);
          }
          observed = applySucceeded(observed, p.actions);
        }
        throw new Error('did not converge');
      }),
      { numRuns: RUNS },
    );
  });

  it('(b) maxUnavailable is never exceeded', () => {
    fc.assert(
      fc.property(worldArb({ protect: true, zeroLimits: true, closedWindows: true, missingApprovals: true, inFlight: true }), (w) => {
        const p = plan(w.desired, w.observed, w.ctx);
        const obsByName = new Map<string, ObservedHost[]>();
        for (const o of w.observed.hosts) obsByName.set(o.name, [...(obsByName.get(o.name) ?? []), o]);
        const flying = new Set(w.ctx.inFlight.map((f) => f.host));
        const isUp = (n: string) => {
          const os = obsByName.get(n) ?? [];
          return os.length === 1 && os[0]!.lifecycle === 'deployed' && os[0]!.power === 'on' && !flying.has(n);
        };
        for (const pol of w.desired.policies) {
          const mu = pol.spec.maxUnavailable;
          if (mu === undefined) continue;
          const selected = w.desired.hosts.filter((h) => matchesSelector(pol.spec.selector, h));
          const pct = typeof mu === 'string' && mu.endsWith('%') ? Number(mu.slice(0, -1)) : undefined;
          const limit = pct === undefined ? Number(mu) : pct === 0 ? 0 : Math.max(1, Math.floor((pct * selected.length) / 100));
          const down = selected.filter((h) => h.spec.state === 'deployed' && h.spec.power === 'on' && !isUp(h.metadata.name)).length;
          const names = new Set(selected.map((h) => h.metadata.name));
          const takenDown = p.actions.filter((a) => a.disruptive && names.has(a.host) && isUp(a.host)).length;
          expect(takenDown).toBeLessThanOrEqual(Math.max(0, limit - down));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('(c) protected hosts never get a disruptive action, and in-flight hosts never get any', () => {
    fc.assert(
      fc.property(worldArb({ protect: true, zeroLimits: true, closedWindows: true, missingApprovals: true, inFlight: true }), (w) => {
        const p = plan(w.desired, w.observed, w.ctx);
        const protectedNames = new Set(
          w.desired.hosts.filter((h) => w.desired.policies.some((pol) => pol.spec.protect && matchesSelector(pol.spec.selector, h))).map((h) => h.metadata.name),
        );
        for (const a of p.actions) if (a.disruptive) expect(protectedNames.has(a.host)).toBe(false);
        const flying = new Set(w.ctx.inFlight.map((f) => f.host));
        for (const a of p.actions) expect(flying.has(a.host)).toBe(false);
        for (const b of p.blocked) expect(flying.has(b.action.host)).toBe(false);
        // one entry per desired host at most, across actions, blocked and waits
        const names = [...p.actions.map((a) => a.host), ...p.blocked.map((b) => b.action.host), ...p.waits.map((x) => x.host)];
        expect(new Set(names).size).toBe(names.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('(d) the plan does not depend on the order of hosts, policies, observations, in-flight work or approvals', () => {
    fc.assert(
      fc.property(
        worldArb({ protect: true, zeroLimits: true, closedWindows: true, missingApprovals: true, inFlight: true }),
        fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 30 }),
        (w, keys) => {
          const a = renderPlanJson(plan(w.desired, w.observed, w.ctx));
          const desired: DesiredState = {
            ...w.desired,
            hosts: shuffle(w.desired.hosts, keys),
            policies: shuffle(w.desired.policies, [...keys].reverse()),
            sites: [...w.desired.sites].reverse(),
          };
          const observed = { ...w.observed, hosts: shuffle(w.observed.hosts, keys.map((k) => 1000 - k)) };
          const ctx = { ...w.ctx, inFlight: shuffle(w.ctx.inFlight, keys), approvals: [...w.ctx.approvals].reverse() };
          expect(renderPlanJson(plan(desired, observed, ctx))).toBe(a);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('(e) a focused plan (some hosts, observed alone) starts only what the full plan starts, defers the rest of it, waits alike and reports no orphan', () => {
    const gen = { protect: true, zeroLimits: true, closedWindows: true, missingApprovals: true, inFlight: true };
    fc.assert(
      fc.property(worldArb(gen), fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }), fc.constantFrom(undefined, 'dc1', 'dc2'), (w, pick, scope) => {
        const ctx: PlanContext = scope === undefined ? w.ctx : { ...w.ctx, site: scope };
        const full = plan(w.desired, w.observed, ctx);
        const hosts = w.desired.hosts.filter((_, i) => pick[i]);
        const names = new Set(hosts.map((h) => h.metadata.name));
        const inScope = (h: string, site: string | undefined) => names.has(h) && (scope === undefined || site === scope);
        // The provider may answer with more than was asked (orphans, other hosts): the focused plan ignores them.
        const focused = plan(w.desired, w.observed, { ...ctx, hosts });
        const fullActions = full.actions.filter((a) => inScope(a.host, a.site));
        const started = new Set(fullActions.map((a) => a.id));
        for (const a of focused.actions) expect(started.has(a.id), `focused action ${a.id} is not in the full plan`).toBe(true);
        const decided = new Set([...focused.actions, ...(focused.deferred ?? [])].map((a) => a.id));
        for (const a of fullActions) expect(decided.has(a.id), `full action ${a.id} is neither started nor deferred`).toBe(true);
        for (const a of focused.deferred ?? []) {
          expect(a.disruptive).toBe(true);
          const counting = w.desired.policies.filter(
            (p) => (p.spec.maxUnavailable !== undefined || p.spec.rollout !== undefined) && matchesSelector(p.spec.selector, hosts.find((h) => h.metadata.name === a.host)!),
          );
          expect(counting.length, `deferred ${a.id} without a counting policy`).toBeGreaterThan(0);
        }
        expect(focused.waits).toEqual(full.waits.filter((x) => inScope(x.host, x.site)));
        expect(focused.orphans).toEqual([]);
        // Observing only the focused hosts gives the same focused plan.
        const alone = { ...w.observed, hosts: w.observed.hosts.filter((o) => names.has(o.name)) };
        expect(plan(w.desired, alone, { ...ctx, hosts })).toEqual(focused);
      }),
      { numRuns: RUNS },
    );
  });
});
