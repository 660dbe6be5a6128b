/**
 * One test per row of the transition table. The scenarios and expected outcomes below are written out by hand,
 * independently of the table: each must be matched by exactly the row it names, and plan() must do what it says.
 */
import { describe, expect, it } from 'vitest';
import { LIFECYCLES } from '../../../src/model/index.js';
import type { HostFacts } from '../../../src/plan/index.js';
import { plan, TRANSITIONS, transitionFor } from '../../../src/plan/index.js';
import { ctx, desiredState, host, obs, observedState } from './helpers.js';

type Expect = 'register' | 'commission' | 'deploy' | 'redeploy' | 'release' | 'power-on' | 'power-off' | 'power-cycle' | 'wait' | 'none';

function f(
  desired: HostFacts['desired'],
  power: HostFacts['power'],
  lifecycle: HostFacts['lifecycle'],
  obsPower: HostFacts['obsPower'],
  spec: HostFacts['spec'],
  agent: HostFacts['agent'],
): HostFacts {
  return { desired, power, lifecycle, obsPower, spec, agent };
}

// [row, scenario, expected outcome, disruptive]
const CASES: [string, HostFacts, Expect, boolean][] = [
  ['D01', f('deployed', 'on', 'absent', 'unknown', 'unknown', 'none'), 'register', false],
  ['D02', f('deployed', 'on', 'unknown', 'off', 'unknown', 'none'), 'wait', false],
  ['D03', f('deployed', 'on', 'new', 'off', 'unknown', 'none'), 'commission', false],
  ['D04', f('deployed', 'on', 'commissioning', 'on', 'unknown', 'none'), 'wait', false],
  ['D05', f('deployed', 'on', 'ready', 'off', 'unrendered', 'none'), 'wait', false],
  ['D06', f('deployed', 'off', 'ready', 'off', 'unknown', 'none'), 'deploy', false],
  ['D07', f('deployed', 'on', 'allocated', 'off', 'unrendered', 'none'), 'wait', false],
  ['D08', f('deployed', 'on', 'allocated', 'off', 'unknown', 'none'), 'deploy', false],
  ['D09', f('deployed', 'on', 'deploying', 'on', 'unknown', 'none'), 'wait', false],
  ['D10', f('deployed', 'on', 'deployed', 'on', 'unrendered', 'healthy'), 'wait', false],
  ['D11', f('deployed', 'on', 'deployed', 'on', 'mismatch', 'healthy'), 'redeploy', true],
  ['D12', f('deployed', 'off', 'deployed', 'off', 'unknown', 'none'), 'redeploy', true],
  ['D13', f('deployed', 'on', 'deployed', 'unknown', 'match', 'none'), 'wait', false],
  ['D14', f('deployed', 'on', 'deployed', 'off', 'match', 'none'), 'power-on', false],
  ['D15', f('deployed', 'on', 'deployed', 'on', 'match', 'unhealthy'), 'power-cycle', true],
  ['D16', f('deployed', 'on', 'deployed', 'on', 'match', 'healthy'), 'none', false],
  ['D17', f('deployed', 'off', 'deployed', 'on', 'match', 'unhealthy'), 'power-off', true],
  ['D18', f('deployed', 'off', 'deployed', 'off', 'match', 'none'), 'none', false],
  ['D19', f('deployed', 'on', 'releasing', 'on', 'unknown', 'none'), 'wait', false],
  ['D20', f('deployed', 'on', 'failed', 'on', 'unrendered', 'none'), 'wait', false],
  ['D21', f('deployed', 'on', 'failed', 'on', 'unknown', 'none'), 'deploy', false],
  ['D22', f('deployed', 'on', 'broken', 'off', 'unknown', 'none'), 'wait', false],
  ['R01', f('ready', 'off', 'absent', 'unknown', 'unknown', 'none'), 'register', false],
  ['R02', f('ready', 'off', 'unknown', 'unknown', 'unknown', 'none'), 'wait', false],
  ['R03', f('ready', 'off', 'new', 'off', 'unknown', 'none'), 'commission', false],
  ['R04', f('ready', 'on', 'commissioning', 'on', 'unknown', 'none'), 'wait', false],
  ['R05', f('ready', 'on', 'ready', 'off', 'unknown', 'none'), 'none', false],
  ['R06', f('ready', 'off', 'allocated', 'off', 'unknown', 'none'), 'release', true],
  ['R07', f('ready', 'off', 'deploying', 'on', 'unknown', 'none'), 'wait', false],
  ['R08', f('ready', 'on', 'deployed', 'on', 'match', 'healthy'), 'release', true],
  ['R09', f('ready', 'off', 'releasing', 'on', 'unknown', 'none'), 'wait', false],
  ['R10', f('ready', 'off', 'failed', 'off', 'unknown', 'none'), 'release', true],
  ['R11', f('ready', 'off', 'broken', 'off', 'unknown', 'none'), 'wait', false],
  ['A01', f('absent', 'off', 'absent', 'unknown', 'unknown', 'none'), 'none', false],
  ['A02', f('absent', 'off', 'unknown', 'on', 'unknown', 'none'), 'wait', false],
  ['A03', f('absent', 'off', 'new', 'off', 'unknown', 'none'), 'none', false],
  ['A04', f('absent', 'off', 'commissioning', 'on', 'unknown', 'none'), 'none', false],
  ['A05', f('absent', 'on', 'ready', 'off', 'unknown', 'none'), 'none', false],
  ['A06', f('absent', 'off', 'allocated', 'off', 'unknown', 'none'), 'release', true],
  ['A07', f('absent', 'off', 'deploying', 'on', 'unknown', 'none'), 'wait', false],
  ['A08', f('absent', 'on', 'deployed', 'on', 'mismatch', 'healthy'), 'release', true],
  ['A09', f('absent', 'off', 'releasing', 'on', 'unknown', 'none'), 'wait', false],
  ['A10', f('absent', 'off', 'failed', 'on', 'unknown', 'none'), 'release', true],
  ['A11', f('absent', 'off', 'broken', 'off', 'unknown', 'none'), 'none', false],
];

/** Builds a one-host desired and observed state with exactly these facts. */
function scenario(x: HostFacts) {
  const h = host('h1', { state: x.desired, power: x.power });
  const desired = desiredState([h], { specHash: 'spec-new', unrendered: x.spec === 'unrendered' ? ['h1'] : [] });
  const deployedSpecHash = x.spec === 'match' || x.spec === 'unrendered' ? 'spec-new' : x.spec === 'mismatch' ? 'spec-old' : undefined;
  const extra: Parameters<typeof obs>[3] = {};
  if (deployedSpecHash !== undefined) extra.deployedSpecHash = deployedSpecHash;
  if (x.agent !== 'none') extra.agent = { lastSeen: '2026-11-23T09:59:00Z', healthy: x.agent === 'healthy' };
  const observed =
    x.lifecycle === 'absent' ? [] : [obs('h1', x.lifecycle, x.obsPower === 'unknown' ? 'error' : x.obsPower, extra)];
  return { desired, observed: observedState(observed) };
}

describe('transition table', () => {
  it('has one hand-written case per row, and no case for a row that does not exist', () => {
    expect(CASES.map((c) => c[0])).toEqual(TRANSITIONS.map((r) => r.id));
  });

  for (const [id, facts, outcome, disruptive] of CASES) {
    it(`${id}: ${facts.desired}/${facts.power} observed ${facts.lifecycle}, power ${facts.obsPower}, spec ${facts.spec}, agent ${facts.agent} -> ${outcome}`, () => {
      expect(transitionFor(facts)?.id).toBe(id);
      const { desired, observed } = scenario(facts);
      const p = plan(desired, observed, ctx());
      if (outcome === 'none') {
        expect(p.actions).toEqual([]);
        expect(p.waits).toEqual([]);
        expect(p.blocked).toEqual([]);
      } else if (outcome === 'wait') {
        expect(p.actions).toEqual([]);
        expect(p.waits).toHaveLength(1);
        expect(p.waits[0]!.host).toBe('h1');
        expect(p.waits[0]!.reason).not.toMatch(/\{\w+\}/);
      } else {
        expect(p.waits).toEqual([]);
        expect(p.actions).toHaveLength(1);
        const a = p.actions[0]!;
        expect(a.kind).toBe(outcome);
        expect(a.disruptive).toBe(disruptive);
        expect(a.host).toBe('h1');
        expect(a.site).toBe('dc1');
        expect(a.reason).not.toMatch(/\{\w+\}/);
        if (outcome === 'deploy' || outcome === 'redeploy') expect(a.specHash).toBe('spec-new');
        if (outcome === 'power-on') expect(a.power).toBe('on');
        if (outcome === 'power-off') expect(a.power).toBe('off');
      }
    });
  }

  it('covers every combination of desired state, power, lifecycle, observed power, spec and agent', () => {
    let n = 0;
    for (const desired of ['deployed', 'ready', 'absent'] as const)
      for (const power of ['on', 'off'] as const)
        for (const lifecycle of [...LIFECYCLES, 'absent' as const])
          for (const obsPower of ['on', 'off', 'unknown'] as const)
            for (const spec of ['match', 'mismatch', 'unknown', 'unrendered'] as const)
              for (const agent of ['healthy', 'unhealthy', 'none'] as const) {
                const row = transitionFor({ desired, power, lifecycle, obsPower, spec, agent });
                expect(row, JSON.stringify({ desired, power, lifecycle, obsPower, spec, agent })).toBeDefined();
                n++;
              }
    expect(n).toBe(3 * 2 * 11 * 3 * 4 * 3);
  });

  it('never powers on a host whose power is unknown or error', () => {
    for (const power of ['unknown', 'error'] as const) {
      const desired = desiredState([host('h1')]);
      const p = plan(desired, observedState([obs('h1', 'deployed', power, { deployedSpecHash: 'spec-new' })]), ctx());
      expect(p.actions).toEqual([]);
      expect(p.waits[0]!.reason).toContain(`"${power}"`);
    }
  });

  it('takes the deployed spec from the provider annotation first, else from the agent report', () => {
    const desired = desiredState([host('h1'), host('h2')]);
    const p = plan(
      desired,
      observedState([
        obs('h1', 'deployed', 'on', { deployedSpecHash: 'spec-new', agent: { lastSeen: 'x', healthy: true, specHash: 'spec-old' } }),
        obs('h2', 'deployed', 'on', { agent: { lastSeen: 'x', healthy: true, specHash: 'spec-old' } }),
      ]),
      ctx(),
    );
    expect(p.actions.map((a) => [a.host, a.kind])).toEqual([['h2', 'redeploy']]);
    expect(p.actions[0]!.reason).toBe('Deployed spec spec-old differs from desired spec-new: redeploy');
  });
});
