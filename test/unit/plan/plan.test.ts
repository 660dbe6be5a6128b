import { describe, expect, it } from 'vitest';
import { GoughError } from '../../../src/model/index.js';
import { actionId, countingApprovers, maxUnavailableLimit, parseDuration, plan, windowState } from '../../../src/plan/index.js';
import { ctx, desiredState, host, obs, observedState, policy, site } from './helpers.js';

const OLD = { deployedSpecHash: 'spec-old' } as const;

describe('plan: in-flight work and failures', () => {
  it('waits on an action already in flight instead of issuing it again, naming its id', () => {
    const desired = desiredState([host('h1')]);
    const id = actionId('h1', 'deploy', 'spec-new');
    const p = plan(
      desired,
      observedState([obs('h1', 'ready', 'off')]),
      ctx({ inFlight: [{ actionId: id, host: 'h1', kind: 'deploy', state: 'running', since: '2026-11-23T09:50:00Z' }] }),
    );
    expect(p.actions).toEqual([]);
    expect(p.waits).toEqual([{ host: 'h1', site: 'dc1', actionId: id, reason: 'Waiting for deploy (running since 2026-11-23T09:50:00Z)' }]);
  });

  it('waits when another action is in flight on the host (one action per host)', () => {
    const desired = desiredState([host('h1')]);
    const p = plan(
      desired,
      observedState([obs('h1', 'deployed', 'on', OLD)]),
      ctx({ inFlight: [{ actionId: 'power-on-x', host: 'h1', kind: 'power-on', state: 'pending', since: '2026-11-23T09:59:00Z' }] }),
    );
    expect(p.actions).toEqual([]);
    expect(p.blocked).toEqual([]);
    expect(p.waits[0]!.actionId).toBe('power-on-x');
    expect(p.waits[0]!.reason).toContain('Another action is in flight on this host: power-on');
  });

  it('blocks an action that failed terminally until re-armed by a new specHash', () => {
    const h = host('h1');
    const failed = [{ actionId: actionId('h1', 'redeploy', 'spec-new'), host: 'h1', kind: 'redeploy' as const, error: 'MAAS: deployment failed', attempts: 3 }];
    // the failed redeploy left the machine `failed`: deploying the same spec again is blocked too
    const p = plan(desiredState([h]), observedState([obs('h1', 'failed', 'off')]), ctx({ failed }));
    expect(p.actions).toEqual([]);
    expect(p.blocked).toHaveLength(1);
    expect(p.blocked[0]!.action.kind).toBe('deploy');
    expect(p.blocked[0]!.reasons).toEqual([
      {
        kind: 'failed',
        message: 'redeploy failed after 3 attempts (MAAS: deployment failed): run "gough retry h1" or change the host\'s spec to try again',
      },
    ]);
    // a new spec is a new action id: the retry goes ahead
    const p2 = plan(desiredState([h], { specHash: 'spec-newer' }), observedState([obs('h1', 'failed', 'off')]), ctx({ failed }));
    expect(p2.actions.map((a) => a.kind)).toEqual(['deploy']);
    // `gough retry` removes the failure from the journal
    const p3 = plan(desiredState([h]), observedState([obs('h1', 'failed', 'off')]), ctx({ failed: [] }));
    expect(p3.actions.map((a) => a.kind)).toEqual(['deploy']);
  });

  it('reports several machines for one host as a wait and acts on none', () => {
    const p = plan(desiredState([host('h1')]), observedState([obs('h1', 'ready', 'off'), { ...obs('h1', 'new', 'off'), provider: { kind: 'maas', id: 'zz', status: 'New' } }]), ctx());
    expect(p.actions).toEqual([]);
    expect(p.waits[0]!.reason).toBe('Provider reports 2 machines for this host ("id-h1", "zz"): resolve by hand');
  });

  it('lists orphans and never acts on them', () => {
    const p = plan(desiredState([host('h1')]), observedState([obs('h1', 'ready', 'off'), obs('stray', 'deployed', 'on', { site: 'dc1' })]), ctx());
    expect(p.orphans).toEqual([{ name: 'stray', site: 'dc1', lifecycle: 'deployed', providerId: 'id-stray' }]);
    expect(p.actions.map((a) => a.host)).toEqual(['h1']);
  });

  it('plans one site when asked, leaving other sites and their machines alone', () => {
    const desired = desiredState([host('a1', { site: 'dc1' }), host('b1', { site: 'dc2' })]);
    const p = plan(desired, observedState([obs('b1', 'ready', 'off', { site: 'dc2' }), obs('x', 'ready', 'off', { site: 'dc2' })]), ctx({ site: 'dc1' }));
    expect(p.actions.map((a) => a.host)).toEqual(['a1']);
    expect(p.orphans).toEqual([]);
    expect(p.summary.hosts).toBe(1);
  });

  it('rejects a "now" that is not an ISO instant', () => {
    expect(() => plan(desiredState([]), observedState([]), ctx({ now: 'tomorrow' }))).toThrowError(GoughError);
  });

  it('gives ids that depend on host, kind, spec and power only', () => {
    expect(actionId('h1', 'deploy', 'a')).toBe(actionId('h1', 'deploy', 'a'));
    expect(actionId('h1', 'deploy', 'a')).not.toBe(actionId('h1', 'deploy', 'b'));
    expect(actionId('h1', 'power-on', undefined, 'on')).not.toBe(actionId('h1', 'power-off', undefined, 'off'));
    expect(actionId('h1', 'deploy', 'a')).toMatch(/^deploy-[0-9a-f]{16}$/);
  });
});

describe('policies', () => {
  const web = (n: number, labels: Record<string, string> = { role: 'web' }) =>
    Array.from({ length: n }, (_, i) => host(`web-${String(i + 1).padStart(2, '0')}`, { labels }));
  const deployedOld = (names: string[]) => observedState(names.map((n) => obs(n, 'deployed', 'on', OLD)));

  it('protect: never lets a disruptive action through, but lets non-disruptive ones', () => {
    const hosts = [host('db-1', { labels: { role: 'db' } }), host('db-2', { labels: { role: 'db' } })];
    const desired = desiredState(hosts, { policies: [policy('keep-db', { selector: { matchLabels: { role: 'db' } }, protect: true })] });
    const p = plan(desired, observedState([obs('db-1', 'deployed', 'on', OLD), obs('db-2', 'deployed', 'off', { deployedSpecHash: 'spec-new' })]), ctx());
    expect(p.actions.map((a) => [a.host, a.kind])).toEqual([['db-2', 'power-on']]);
    expect(p.blocked[0]!.reasons).toEqual([{ kind: 'protected', policy: 'keep-db', message: 'Policy "keep-db" protects this host from disruptive actions' }]);
    expect(p.blocked[0]!.until).toBeUndefined();
  });

  it('window: blocks outside the window with the next opening as until, in the window time zone', () => {
    const pol = policy('weekend', { selector: {}, maintenanceWindows: [{ schedule: '0 22 * * 6', duration: '4h', timezone: 'Europe/Berlin' }] });
    const desired = desiredState([host('h1')], { policies: [pol] });
    // Monday 2026-11-23 10:00Z: closed; next Saturday 22:00 Berlin = 21:00Z
    const p = plan(desired, deployedOld(['h1']), ctx());
    expect(p.blocked[0]!.reasons[0]!.kind).toBe('window');
    expect(p.blocked[0]!.reasons[0]!.until).toBe('2026-11-28T21:00:00.000Z');
    expect(p.blocked[0]!.until).toBe('2026-11-28T21:00:00.000Z');
    // inside: Sunday 00:30 Berlin = Saturday 23:30Z
    const inside = plan(desired, deployedOld(['h1']), ctx({ now: '2026-11-28T23:30:00Z' }));
    expect(inside.actions.map((a) => a.kind)).toEqual(['redeploy']);
    // end is exclusive: 01:00Z Sunday is 02:00 Berlin = start + 4h
    const end = plan(desired, deployedOld(['h1']), ctx({ now: '2026-11-29T01:00:00Z' }));
    expect(end.blocked[0]!.until).toBe('2026-12-05T21:00:00.000Z');
  });

  it('window: uses the site time zone when the window names none', () => {
    const pol = policy('nightly', { selector: {}, maintenanceWindows: [{ schedule: '0 2 * * *', duration: '1h' }] });
    const desired = desiredState([host('h1', { site: 'tokyo' })], { policies: [pol], sites: [site('tokyo', 'Asia/Tokyo')] });
    const p = plan(desired, deployedOld(['h1']), ctx());
    // 02:00 Tokyo = 17:00Z
    expect(p.blocked[0]!.until).toBe('2026-11-23T17:00:00.000Z');
    expect(plan(desired, deployedOld(['h1']), ctx({ now: '2026-11-23T17:30:00Z' })).actions).toHaveLength(1);
  });

  it('approvals: counts distinct approvers from listed users and teams', () => {
    const pol = policy('prod', { selector: {}, requireApprovals: { count: 2, from: ['alice', '@acme/sre'] } });
    const desired = desiredState([host('h1')], { policies: [pol] });
    const blockedBy = (approvals: { user: string; teams?: string[] }[]) => plan(desired, deployedOld(['h1']), ctx({ approvals })).blocked;
    expect(blockedBy([{ user: 'alice' }, { user: 'Alice' }])[0]!.reasons[0]!.message).toBe(
      'Policy "prod" requires 2 approvals from alice, @acme/sre: 1 given (alice)',
    );
    expect(blockedBy([{ user: 'alice' }, { user: 'mallory' }])).toHaveLength(1);
    expect(blockedBy([{ user: 'alice' }, { user: 'bob', teams: ['acme/sre'] }])).toEqual([]);
    expect(blockedBy([])[0]!.reasons[0]!.message).toContain('none given');
  });

  it('approvals: without `from` anyone counts', () => {
    expect(countingApprovers([{ user: 'x' }, { user: 'y' }, { user: 'x' }], undefined)).toEqual(['x', 'y']);
  });

  it('maxUnavailable: counts hosts already down and picks actions in host-name order', () => {
    const hosts = web(5);
    const pol = policy('web', { selector: { matchLabels: { role: 'web' } }, maxUnavailable: 2 });
    const desired = desiredState(hosts, { policies: [pol] });
    const names = hosts.map((h) => h.metadata.name);
    const p = plan(desired, deployedOld(names), ctx());
    expect(p.actions.map((a) => a.host)).toEqual(['web-01', 'web-02']);
    expect(p.blocked.map((b) => b.action.host)).toEqual(['web-03', 'web-04', 'web-05']);
    expect(p.blocked[0]!.reasons[0]!.message).toBe('Policy "web" allows at most 2 of its 5 hosts unavailable: 0 already down, 2 taken by this plan');
    // one host already down (deploying): only one more may go
    const o = deployedOld(names);
    o.hosts[4] = obs('web-05', 'deploying', 'on');
    const p2 = plan(desired, o, ctx());
    expect(p2.actions.map((a) => a.host)).toEqual(['web-01']);
    // in flight counts as down too
    const p3 = plan(desired, deployedOld(names), ctx({ inFlight: [{ actionId: 'x', host: 'web-04', kind: 'redeploy', state: 'running', since: 'x' }] }));
    expect(p3.actions.map((a) => a.host)).toEqual(['web-01']);
  });

  it('maxUnavailable: a percentage rounds down with a minimum of 1, unless 0 is explicit', () => {
    expect(maxUnavailableLimit('25%', 10).limit).toBe(2);
    expect(maxUnavailableLimit('10%', 5).limit).toBe(1);
    expect(maxUnavailableLimit('0%', 5).limit).toBe(0);
    expect(maxUnavailableLimit(0, 5).limit).toBe(0);
    expect(maxUnavailableLimit('3', 5).limit).toBe(3);
    expect(maxUnavailableLimit('lots', 5)).toEqual({ limit: 0, note: 'invalid maxUnavailable "lots"' });
  });

  it('maxUnavailable: actions on hosts already down do not take from the budget; non-disruptive ones are never gated', () => {
    const hosts = web(3);
    const desired = desiredState(hosts, { policies: [policy('web', { selector: {}, maxUnavailable: 0 })] });
    const o = observedState([obs('web-01', 'new', 'off'), obs('web-02', 'deployed', 'off', { deployedSpecHash: 'spec-new' }), obs('web-03', 'deployed', 'on', OLD)]);
    const p = plan(desired, o, ctx());
    expect(p.actions.map((a) => [a.host, a.kind])).toEqual([
      ['web-01', 'commission'],
      ['web-02', 'power-on'],
    ]);
    expect(p.blocked.map((b) => b.action.host)).toEqual(['web-03']);
  });

  it('rollout: at most batchSize disruptive actions, counting those in flight', () => {
    const hosts = web(4);
    const desired = desiredState(hosts, { policies: [policy('roll', { selector: {}, rollout: { batchSize: 2 } })] });
    const names = hosts.map((h) => h.metadata.name);
    expect(plan(desired, deployedOld(names), ctx()).actions.map((a) => a.host)).toEqual(['web-01', 'web-02']);
    const p = plan(desired, deployedOld(names), ctx({ inFlight: [{ actionId: 'r', host: 'web-01', kind: 'redeploy', state: 'running', since: 'x' }] }));
    expect(p.actions.map((a) => a.host)).toEqual(['web-02']);
    expect(p.blocked.map((b) => b.reasons.map((r) => r.kind))).toEqual([['rollout'], ['rollout']]);
  });

  it('several policies: every reason listed, until is the latest when all reasons have one', () => {
    const pols = [
      policy('a-window', { selector: {}, maintenanceWindows: [{ schedule: '0 22 * * 6', duration: '4h' }] }),
      policy('b-window', { selector: {}, maintenanceWindows: [{ schedule: '0 3 1 * *', duration: '2h' }] }),
      policy('c-approval', { selector: {}, requireApprovals: { count: 1 } }),
    ];
    const p = plan(desiredState([host('h1')], { policies: pols.slice(0, 2) }), deployedOld(['h1']), ctx());
    expect(p.blocked[0]!.reasons.map((r) => [r.kind, r.policy, r.until])).toEqual([
      ['window', 'a-window', '2026-11-28T22:00:00.000Z'],
      ['window', 'b-window', '2026-12-01T03:00:00.000Z'],
    ]);
    expect(p.blocked[0]!.until).toBe('2026-12-01T03:00:00.000Z');
    const p2 = plan(desiredState([host('h1')], { policies: pols }), deployedOld(['h1']), ctx());
    expect(p2.blocked[0]!.reasons.map((r) => r.kind)).toEqual(['window', 'window', 'approval']);
    expect(p2.blocked[0]!.until).toBeUndefined();
  });

  it('a blocked action does not use up the budget of another policy', () => {
    const hosts = [host('a', { labels: { zone: 'x' } }), host('b', { labels: { zone: 'y' } })];
    const pols = [
      policy('all', { selector: {}, maxUnavailable: 1 }),
      policy('x-frozen', { selector: { matchLabels: { zone: 'x' } }, protect: true }),
    ];
    const p = plan(desiredState(hosts, { policies: pols }), deployedOld(['a', 'b']), ctx());
    expect(p.blocked.map((b) => b.action.host)).toEqual(['a']);
    expect(p.actions.map((a) => a.host)).toEqual(['b']);
  });
});

describe('windows and durations', () => {
  it('parses durations', () => {
    expect(parseDuration('4h')).toBe(4 * 3600_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('2d')).toBe(48 * 3600_000);
    expect(parseDuration('0m')).toBeUndefined();
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });

  it('reports an invalid window as closed with the problem, never open', () => {
    const s = windowState({ schedule: 'every day', duration: '1h' }, new Date('2026-11-23T10:00:00Z'));
    expect(s.open).toBe(false);
    expect('invalid' in s && s.invalid).toContain('invalid cron schedule "every day"');
    const tz = windowState({ schedule: '* * * * *', duration: '1h', timezone: 'Mars/Olympus' }, new Date('2026-11-23T10:00:00Z'));
    expect('invalid' in tz && tz.invalid).toBe('unknown time zone "Mars/Olympus"');
  });
});
