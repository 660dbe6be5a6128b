import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { DaemonSnapshot } from '../../../src/daemon/view.js';
import { ProgressPrinter, bar, fleetProgress } from '../../../src/lab/progress.js';
import { hostView } from '../http/fake-view.js';

const ready = [{ type: 'Ready' as const, status: 'True' as const, reason: 'Deployed', message: '', lastTransitionTime: '2026-11-23T00:00:00Z' }];

function snap(lifecycles: string[], readyCount: number): DaemonSnapshot {
  return {
    sites: ['dc1'],
    events: [],
    hosts: lifecycles.map((l, i) =>
      hostView(`h${i}`, 'dc1', l as 'new', i < readyCount ? { conditions: ready } : {}),
    ),
  };
}

function sink(tty: boolean): { out: Writable & { isTTY?: boolean }; text: () => string } {
  let buf = '';
  const out = new Writable({
    write(c: Buffer, _e, cb) {
      buf += c.toString();
      cb();
    },
  }) as Writable & { isTTY?: boolean };
  out.isTTY = tty;
  return { out, text: () => buf };
}

describe('fleet progress', () => {
  it('counts hosts by lifecycle and readiness', () => {
    const p = fleetProgress(snap(['deployed', 'deployed', 'deploying', 'new', 'failed'], 2));
    expect(p).toMatchObject({ total: 5, ready: 2, failed: 1, converged: false, byLifecycle: { deployed: 2, deploying: 1, new: 1, failed: 1 } });
    expect(fleetProgress(snap(['deployed'], 1)).converged).toBe(true);
  });

  it('draws a bar', () => {
    expect(bar(0, 4, 8)).toBe('[........]');
    expect(bar(2, 4, 8)).toBe('[####....]');
    expect(bar(4, 4, 8)).toBe('[########]');
    expect(bar(1, 0, 4)).toBe('[....]');
  });

  it('prints plain lines only when the counts change, then a converged line', () => {
    const s = sink(false);
    let t = 0;
    const p = new ProgressPrinter({ out: s.out, elapsedMs: () => t });
    p.update(snap(['new', 'new'], 0));
    t = 500;
    p.update(snap(['new', 'new'], 0));
    t = 1500;
    p.update(snap(['deploying', 'new'], 0));
    t = 4000;
    p.update(snap(['deployed', 'deployed'], 2));
    p.update(snap(['deployed', 'deployed'], 2));
    expect(s.text()).toBe(
      [
        '[   0.0 s] hosts: 0/2 ready · new 2',
        '[   1.5 s] hosts: 0/2 ready · new 1 · deploying 1',
        '[   4.0 s] hosts: 2/2 ready · deployed 2',
        'Fleet converged: 2/2 hosts ready',
        '',
      ].join('\n'),
    );
    expect(s.text()).not.toContain('\x1b');
  });

  it('says when the fleet settled short of converging (failures, policy)', () => {
    const s = sink(false);
    const p = new ProgressPrinter({ out: s.out, elapsedMs: () => 0 });
    const failed = snap(['deployed', 'failed'], 1);
    failed.hosts[1] = { ...(failed.hosts[1] as (typeof failed.hosts)[number]), blocked: [{ kind: 'failed', message: 'deploy failed' }] };
    failed.plan = { hosts: 2, actions: 0, disruptive: 0, waits: 0, blocked: 1, orphans: 0, byKind: {}, converged: false };
    p.update(failed);
    p.update(failed);
    expect(s.text()).toBe(
      '[   0.0 s] hosts: 1/2 ready · deployed 1 · failed 1 · blocked 1\nFleet settled: 1/2 hosts ready; 1 failed, 1 blocked (reasons on the status page)\n',
    );
  });

  it('redraws one line with a bar on a terminal', () => {
    const s = sink(true);
    const p = new ProgressPrinter({ out: s.out });
    p.update(snap(['new', 'deployed'], 1));
    p.update(snap(['deployed', 'deployed'], 2));
    p.finish();
    const text = s.text();
    expect(text).toContain('\r\x1b[2K[############............] 1/2 ready · new 1 · deployed 1');
    expect(text).toContain('\r\x1b[2KFleet converged: 2/2 hosts ready\n');
  });
});
