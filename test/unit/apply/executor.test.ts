import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Executor, type ExecutorEvent, Journal } from '../../../src/apply/index.js';
import type { DesiredHost, ObservedHost } from '../../../src/model/index.js';
import { GoughError } from '../../../src/model/index.js';
import { FakeWorld, deployAction, desiredHost } from './fake-world.js';

const dirs: string[] = [];
function tmpJournalPath(): string {
  const d = mkdtempSync(join(tmpdir(), 'gough-journal-'));
  dirs.push(d);
  return join(d, 'journal.sqlite');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function targetsOf(names: string[], site = 's1'): Map<string, DesiredHost> {
  return new Map(names.map((n) => [n, desiredHost(n, site)]));
}

function observedMap(w: FakeWorld): Map<string, ObservedHost> {
  return new Map([...w.hosts].map(([k, v]) => [k, { ...v }]));
}

const fast = { backoff: { baseMs: 5, maxMs: 20 } };

describe('executor', () => {
  it('journals an attempt as running before its first side effect, then succeeded', async () => {
    const journal = Journal.open(tmpJournalPath());
    const w = new FakeWorld();
    w.add('h1');
    const seen: string[] = [];
    w.onPerform = () => {
      const e = journal.open()[0];
      seen.push(`${e?.state}/${e?.attempts}`);
    };
    const ex = new Executor({ journal, provisionerFor: () => w, limits: fast });
    const r = ex.dispatch([deployAction('h1')], targetsOf(['h1']), { revision: 'rev-1', pass: 'p1' });
    expect(r.started.map((a) => a.host)).toEqual(['h1']);
    await ex.idle();
    expect(seen).toEqual(['running/1']);
    const [e] = journal.history('h1');
    expect(e).toMatchObject({ state: 'succeeded', attempts: 1, revision: 'rev-1', specHash: 'hash-1', message: 'Deployed "h1"' });
    expect(w.hosts.get('h1')?.lifecycle).toBe('deployed');
    journal.close();
  });

  it('runs one action per host and caps hosts provisioning per site', async () => {
    const journal = Journal.open(':memory:');
    const w = new FakeWorld();
    const names = Array.from({ length: 7 }, (_, i) => `h${i}`);
    for (const n of names) w.add(n);
    const ex = new Executor({ journal, provisionerFor: () => w, limits: { ...fast, maxProvisioningPerSite: 3 } });
    const actions = names.map((n) => deployAction(n));
    const r1 = ex.dispatch(actions, targetsOf(names), { revision: 'r', pass: 'p1' });
    expect(r1.started).toHaveLength(3);
    expect(r1.skipped.filter((s) => s.reason === 'site-cap')).toHaveLength(4);
    // The same host again while its action runs: skipped, not issued twice.
    const r2 = ex.dispatch([deployAction('h0', { specHash: 'other' })], targetsOf(['h0']), { revision: 'r', pass: 'p2' });
    expect(r2.skipped).toEqual([{ action: expect.objectContaining({ host: 'h0' }), reason: 'host-busy' }]);
    await ex.idle();
    expect(w.maxActive).toBe(3);
    const r3 = ex.dispatch(actions.slice(3), targetsOf(names), { revision: 'r', pass: 'p3' });
    expect(r3.started).toHaveLength(3);
    await ex.idle();
    expect(w.performs('h0')).toHaveLength(1);
    journal.close();
  });

  it('retries retryable errors with backoff and gives up on terminal ones at once', async () => {
    const journal = Journal.open(':memory:');
    const w = new FakeWorld();
    w.add('flaky');
    w.add('broken');
    w.failures.set('flaky', [new GoughError('unreachable', 'MAAS did not answer', { retry: { kind: 'backoff' } })]);
    w.failures.set('broken', [new GoughError('auth-failed', 'MAAS rejected the API key')]);
    const events: ExecutorEvent[] = [];
    const ex = new Executor({ journal, provisionerFor: () => w, limits: fast, onEvent: (e) => events.push(e), random: () => 0.5 });
    ex.dispatch([deployAction('flaky'), deployAction('broken')], targetsOf(['flaky', 'broken']), { revision: 'r', pass: 'p' });
    await ex.idle();
    expect(journal.history('flaky')[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(journal.history('broken')[0]).toMatchObject({ state: 'failed', attempts: 1, errorCode: 'auth-failed' });
    expect(w.performs('broken')).toHaveLength(1);
    const outcomes = events
      .filter((e) => e.type === 'action-finished')
      .map((e) => `${e.action.host}:${e.type === 'action-finished' ? e.outcome : ''}`)
      .sort();
    expect(outcomes).toEqual(['broken:failed', 'flaky:retrying', 'flaky:succeeded']);
    journal.close();
  });

  it('fails terminally after maxAttempts and does not retry until re-armed or a new revision', async () => {
    const journal = Journal.open(':memory:');
    const w = new FakeWorld();
    w.add('h1');
    const err = () => new GoughError('unreachable', 'No answer', { retry: { kind: 'backoff' } });
    w.failures.set('h1', [err(), err(), err(), err()]);
    const ex = new Executor({ journal, provisionerFor: () => w, limits: { ...fast, maxAttempts: 3 } });
    const ctx = { revision: 'rev-1', pass: 'p' };
    ex.dispatch([deployAction('h1')], targetsOf(['h1']), ctx);
    await ex.idle();
    expect(journal.history('h1')[0]).toMatchObject({ state: 'failed', attempts: 3 });
    expect(journal.failed('rev-1')).toEqual([
      { actionId: 'deploy-h1-hash-1', host: 'h1', kind: 'deploy', error: 'No answer (after 3 attempts)', attempts: 3 },
    ]);
    expect(ex.dispatch([deployAction('h1')], targetsOf(['h1']), ctx).skipped[0]?.reason).toBe('failed');
    expect(w.performs('h1')).toHaveLength(3);
    // `gough retry h1` re-arms it.
    expect(journal.rearm('h1')).toBe(1);
    expect(journal.failed('rev-1')).toEqual([]);
    expect(ex.dispatch([deployAction('h1')], targetsOf(['h1']), ctx).started).toHaveLength(1);
    await ex.idle();
    // One failure left in the queue, then success on the second attempt of the new entry.
    expect(journal.history('h1')[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    // A new revision re-arms too.
    w.failures.set('h2', [new GoughError('conflict', 'Machine is locked')]);
    w.add('h2');
    ex.dispatch([deployAction('h2')], targetsOf(['h2']), { revision: 'rev-1', pass: 'p' });
    await ex.idle();
    expect(ex.dispatch([deployAction('h2')], targetsOf(['h2']), { revision: 'rev-1', pass: 'p' }).started).toHaveLength(0);
    expect(ex.dispatch([deployAction('h2')], targetsOf(['h2']), { revision: 'rev-2', pass: 'p' }).started).toHaveLength(1);
    await ex.idle();
    expect(w.hosts.get('h2')?.lifecycle).toBe('deployed');
    journal.close();
  });

  it('times an attempt out at its deadline and retries after looking at the host first', async () => {
    const journal = Journal.open(':memory:');
    const w = new FakeWorld();
    w.add('h1');
    w.hang.add('h1');
    const ex = new Executor({
      journal,
      provisionerFor: () => w,
      limits: { ...fast, maxAttempts: 2, deadlineMs: { default: 50 } },
    });
    ex.dispatch([deployAction('h1')], targetsOf(['h1']), { revision: 'r', pass: 'p' });
    await ex.idle();
    const [e] = journal.history('h1');
    expect(e).toMatchObject({ state: 'failed', attempts: 2, errorCode: 'timeout' });
    expect(e?.error).toMatch(/did not finish within 50 ms/);
    // Before the second attempt it observed the host.
    const performs = w.calls.filter((c) => c.host === 'h1').map((c) => c.op);
    expect(performs).toEqual(['perform', 'observe', 'perform']);
    journal.close();
  });

  it('rate-limits calls per provider kind', async () => {
    const journal = Journal.open(':memory:');
    const w = new FakeWorld();
    w.deployMs = 0;
    const names = Array.from({ length: 6 }, (_, i) => `h${i}`);
    for (const n of names) w.add(n);
    const ex = new Executor({ journal, provisionerFor: () => w, limits: { ...fast, rate: { default: { perSecond: 20, burst: 2 } } } });
    const t0 = Date.now();
    ex.dispatch(names.map((n) => deployAction(n)), targetsOf(names), { revision: 'r', pass: 'p' });
    await ex.idle();
    const times = w.performs().map((c) => c.at - t0);
    // Two at once (burst), then one every ~50 ms.
    expect(times[5]).toBeGreaterThanOrEqual(180);
    journal.close();
  });

  it('on shutdown stops dispatching, lets in-flight finish, and leaves timed-out work open for the next start', async () => {
    const path = tmpJournalPath();
    const journal = Journal.open(path);
    const w = new FakeWorld();
    w.add('quick');
    w.add('stuck');
    w.hang.add('stuck');
    const ex = new Executor({ journal, provisionerFor: () => w, limits: fast });
    ex.dispatch([deployAction('quick'), deployAction('stuck')], targetsOf(['quick', 'stuck']), { revision: 'r', pass: 'p' });
    const r = await ex.shutdown(100);
    expect(r.finished).toBe(false);
    expect(ex.dispatch([deployAction('other')], targetsOf(['other']), { revision: 'r', pass: 'p' }).skipped[0]?.reason).toBe('stopping');
    expect(journal.history('quick')[0]?.state).toBe('succeeded');
    expect(journal.history('stuck')[0]).toMatchObject({ state: 'running', attempts: 1 });
    journal.close();
  });
});

describe('crash recovery', () => {
  it('reconciles entries left running by a killed process before dispatching: done, under way, not started', async () => {
    const path = tmpJournalPath();
    // A process journals three attempts as running, then dies (never marks them).
    const j1 = Journal.open(path);
    for (const h of ['done', 'busy', 'lost']) j1.markRunning(j1.create(deployAction(h), 'rev-1', '2026-01-01T00:00:00Z').seq, '2026-01-01T00:00:00Z');
    j1.close();

    const w = new FakeWorld();
    w.add('done', 'deployed');
    w.hosts.get('done')!.deployedSpecHash = 'hash-1';
    w.add('busy', 'deploying');
    w.add('lost', 'ready');
    const journal = Journal.open(path);
    const ex = new Executor({ journal, provisionerFor: () => w, limits: fast });
    expect(ex.orphanCount).toBe(3);
    expect(ex.recover(observedMap(w))).toEqual({ verified: 1, waiting: 1, requeued: 1 });
    expect(journal.history('done')[0]?.state).toBe('succeeded');
    expect(ex.inFlight().map((i) => i.host)).toEqual(['busy']);

    // The planner asks again for what the observation shows undone (busy is a Wait in a real plan; the executor
    // refuses it anyway).
    const names = ['busy', 'lost'];
    const r = ex.dispatch(names.map((n) => deployAction(n)), targetsOf(names), { revision: 'rev-1', pass: 'p' });
    expect(r.started.map((a) => a.host)).toEqual(['lost']);
    expect(r.skipped.map((s) => `${s.action.host}:${s.reason}`)).toEqual(['busy:host-busy']);
    await ex.idle();
    // 'lost' resumed the same entry: attempts carried on.
    expect(journal.history('lost')).toHaveLength(1);
    expect(journal.history('lost')[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(w.performs()).toEqual([expect.objectContaining({ host: 'lost' })]);

    // The busy host finishes on its own; the next observation marks it.
    w.hosts.get('busy')!.lifecycle = 'deployed';
    w.hosts.get('busy')!.deployedSpecHash = 'hash-1';
    expect(ex.recover(observedMap(w))).toEqual({ verified: 1, waiting: 0, requeued: 0 });
    expect(journal.open()).toEqual([]);
    expect(w.performs()).toHaveLength(1);
    journal.close();
  });

  it('cancels a not-started orphan that the plan no longer asks for', () => {
    const path = tmpJournalPath();
    const j1 = Journal.open(path);
    j1.markRunning(j1.create(deployAction('h1', { specHash: 'old' }), 'rev-1', '2026-01-01T00:00:00Z').seq, '2026-01-01T00:00:00Z');
    j1.close();
    const w = new FakeWorld();
    w.add('h1', 'ready');
    const journal = Journal.open(path);
    const ex = new Executor({ journal, provisionerFor: () => w, limits: fast });
    ex.recover(observedMap(w));
    ex.dispatch([], new Map(), { revision: 'rev-2', pass: 'p' });
    expect(journal.history('h1')[0]?.state).toBe('cancelled');
    expect(w.performs()).toEqual([]);
    journal.close();
  });
});
