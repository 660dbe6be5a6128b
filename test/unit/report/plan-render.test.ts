/**
 * Golden tests for the three plan renderings, the JSON Schema of the JSON form, and the Markdown size limit.
 * Regenerate the golden files after an intended change with `UPDATE_GOLDEN=1 npx vitest run test/unit/report`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { ObservedHost, Plan } from '../../../src/model/index.js';
import { actionId, parseObservedSnapshot, plan } from '../../../src/plan/index.js';
import { renderPlanJson, renderPlanMarkdown, renderPlanText } from '../../../src/report/index.js';
import { ctx, desiredState, host, obs, observedState, policy, site } from '../plan/helpers.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/plan');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, actual: string): void {
  const file = join(FIXTURES, name);
  if (UPDATE) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

/** A two-site fleet with every section of a plan: actions of each kind, waits, blocked with reasons, orphans. */
function goldenPlan(): Plan {
  const hosts = [
    host('dc1-web-01', { labels: { role: 'web' } }),
    host('dc1-web-02', { labels: { role: 'web' } }),
    host('dc1-web-03', { labels: { role: 'web' } }),
    host('dc1-db-01', { labels: { role: 'db' } }),
    host('dc1-spare-01', { state: 'ready', labels: { role: 'spare' } }),
    host('dc1-old-01', { state: 'absent' }),
    host('dc2-batch-01', { site: 'dc2', power: 'off', labels: { role: 'batch' } }),
    host('dc2-batch-02', { site: 'dc2', labels: { role: 'batch' } }),
    host('dc2-batch-03', { site: 'dc2', labels: { role: 'batch' } }),
    host('dc2-batch-04', { site: 'dc2', labels: { role: 'batch' } }),
  ];
  const policies = [
    policy('db-frozen', { selector: { matchLabels: { role: 'db' } }, protect: true }),
    policy('web-rolling', { selector: { matchLabels: { role: 'web' } }, maxUnavailable: 2, requireApprovals: { count: 1, from: ['@acme/sre'] } }),
    policy('batch-weekend', {
      selector: { sites: ['dc2'] },
      maintenanceWindows: [{ schedule: '0 22 * * 6', duration: '4h', timezone: 'Europe/Berlin' }],
    }),
  ];
  const desired = desiredState(hosts, {
    policies,
    sites: [site('dc1'), site('dc2', 'Europe/Berlin')],
    specHash: 'a1b2c3d4e5f60718293a4b5c',
    revision: '3f2c9d1e8b7a',
  });
  const old = { deployedSpecHash: '99887766554433221100aabb' };
  const observed: ObservedHost[] = [
    obs('dc1-web-01', 'deployed', 'on', { site: 'dc1', ...old }),
    obs('dc1-web-02', 'deployed', 'on', { site: 'dc1', ...old }),
    obs('dc1-web-03', 'deploying', 'on', { site: 'dc1' }),
    obs('dc1-db-01', 'deployed', 'on', { site: 'dc1', ...old }),
    obs('dc1-spare-01', 'new', 'off', { site: 'dc1' }),
    obs('dc1-old-01', 'deployed', 'on', { site: 'dc1', deployedSpecHash: 'a1b2c3d4e5f60718293a4b5c' }),
    obs('dc2-batch-01', 'deployed', 'on', { site: 'dc2', deployedSpecHash: 'a1b2c3d4e5f60718293a4b5c' }),
    obs('dc2-batch-02', 'deployed', 'off', { site: 'dc2', deployedSpecHash: 'a1b2c3d4e5f60718293a4b5c' }),
    obs('dc2-batch-03', 'failed', 'off', { site: 'dc2', provider: { kind: 'maas', id: 'x7k2p', status: 'Failed deployment' } }),
    obs('dc2-batch-04', 'deploying', 'on', { site: 'dc2' }),
    obs('legacy-07', 'deployed', 'on', { site: 'dc1', provider: { kind: 'maas', id: 'q8w3e', status: 'Deployed' } }),
  ];
  return plan(
    desired,
    observedState(observed),
    ctx({
      approvals: [{ user: 'carol', teams: ['@acme/sre'] }],
      inFlight: [{ actionId: actionId('dc2-batch-04', 'deploy', 'a1b2c3d4e5f60718293a4b5c'), host: 'dc2-batch-04', kind: 'deploy', state: 'running', since: '2026-11-23T09:41:07Z' }],
    }),
  );
}

describe('plan rendering', () => {
  const p = goldenPlan();

  it('covers every section in the golden scenario', () => {
    expect(p.actions.map((a) => `${a.kind} ${a.host}`)).toEqual([
      'release dc1-old-01',
      'commission dc1-spare-01',
      'redeploy dc1-web-01',
      'power-on dc2-batch-02',
      'deploy dc2-batch-03',
    ]);
    expect(p.blocked.map((b) => `${b.action.kind} ${b.action.host}: ${b.reasons.map((r) => r.kind).join(',')}`)).toEqual([
      'redeploy dc1-db-01: protected',
      'redeploy dc1-web-02: max-unavailable',
      'power-off dc2-batch-01: window',
    ]);
    expect(p.waits.map((w) => w.host)).toEqual(['dc1-web-03', 'dc2-batch-04']);
    expect(p.orphans.map((o) => o.name)).toEqual(['legacy-07']);
  });

  it('text (golden)', () => {
    const text = renderPlanText(p);
    golden('golden-plan.txt', text);
    expect(text).toMatch(/^ {2}~ redeploy +dc1-web-01 \(dc1\) {2}\(disruptive\)$/m);
    expect(text).toContain('Plan: 1 to commission, 1 to deploy, 1 to redeploy, 1 to release, 1 to power on, 3 blocked, 2 waiting, 1 orphan.');
    expect(text).not.toContain('\u001b[');
  });

  it('text with colour uses ANSI codes only when asked', () => {
    const text = renderPlanText(p, { color: true });
    expect(text).toContain('\u001b[33m~ redeploy');
    expect(text.replace(/\u001b\[\d+m/g, '')).toBe(renderPlanText(p));
  });

  it('markdown (golden)', () => {
    const md = renderPlanMarkdown(p);
    golden('golden-plan.md', md);
    expect(md.split('\n')[2]).toBe('**Plan: 1 to commission, 1 to deploy, 1 to redeploy, 1 to release, 1 to power on, 3 blocked, 2 waiting, 1 orphan.**');
    expect(md).toContain('<details><summary><b>dc2</b>: 2 actions, 1 blocked, 1 waiting</summary>');
  });

  it('json (golden), valid against schemas/plan.schema.json', () => {
    const json = renderPlanJson(p);
    golden('golden-plan.json', json);
    const schema = JSON.parse(readFileSync(join(import.meta.dirname, '../../../schemas/plan.schema.json'), 'utf8')) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /T/.test(s));
    const validate = ajv.compile(schema);
    const data = JSON.parse(json) as unknown;
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    expect(Object.keys(data as object)).toEqual(['revision', 'actions', 'waits', 'blocked', 'orphans', 'summary']);
    // and the schema does reject what it should
    expect(validate({ ...(data as object), extra: 1 })).toBe(false);
  });

  it('a converged plan says so', () => {
    const q = plan(desiredState([host('h1')]), observedState([obs('h1', 'deployed', 'on', { deployedSpecHash: 'spec-new' })]), ctx());
    expect(renderPlanText(q)).toContain('No changes: 1 host as desired.');
    expect(renderPlanMarkdown(q)).toContain('**No changes: 1 host as desired.**');
  });

  it('markdown stays under 65,536 characters for 100,000 hosts, summary first', () => {
    const n = 100_000;
    const hosts = Array.from({ length: n }, (_, i) => host(`r${Math.floor(i / 40)}-n${i % 40}`, { site: `dc${i % 3}` }));
    const observed = hosts.map((h, i) => (i % 2 === 0 ? obs(h.metadata.name, 'ready', 'off', { site: h.spec.site }) : obs(h.metadata.name, 'deploying', 'on', { site: h.spec.site })));
    const big = plan(desiredState(hosts), observedState(observed), ctx());
    expect(big.actions).toHaveLength(n / 2);
    const md = renderPlanMarkdown(big);
    expect(md.length).toBeLessThan(65_536);
    expect(md.split('\n')[2]).toBe('**Plan: 50000 to deploy, 50000 waiting.**');
    expect(md).toMatch(/_\d+ more rows not shown to keep this comment under GitHub's size limit: run `gough plan` for the full plan\._/);
    const shown = (md.match(/^\| \+ \| `/gm) ?? []).length;
    const omitted = Number(/_(\d+) more rows/.exec(md)![1]);
    expect(shown + (md.match(/^\| `r/gm) ?? []).length + omitted).toBe(n);
    // every <details> is closed
    expect((md.match(/<details/g) ?? []).length).toBe((md.match(/<\/details>/g) ?? []).length);
  });
});

describe('observed snapshot', () => {
  it('schemas/observed.schema.json is the schema the parser uses', async () => {
    const { OBSERVED_SCHEMA } = await import('../../../src/plan/index.js');
    const file = JSON.parse(readFileSync(join(import.meta.dirname, '../../../schemas/observed.schema.json'), 'utf8')) as unknown;
    expect(file).toEqual(JSON.parse(JSON.stringify(OBSERVED_SCHEMA)));
  });

  it('parses a snapshot, filling provider and errors', () => {
    const s = parseObservedSnapshot(
      JSON.stringify({ observedAt: '2026-11-23T10:00:00Z', hosts: [{ name: 'h1', lifecycle: 'deployed', power: 'on', deployedSpecHash: 'abc' }] }),
      'snap.json',
    );
    expect(s.hosts[0]).toEqual({ name: 'h1', lifecycle: 'deployed', power: 'on', deployedSpecHash: 'abc', provider: { kind: 'snapshot', id: 'h1', status: 'deployed' }, errors: [] });
  });

  it('names the file and every problem', () => {
    expect(() => parseObservedSnapshot('{', 'snap.json')).toThrowError(/^Cannot read observed state "snap.json": not JSON/);
    let msg = '';
    try {
      parseObservedSnapshot(JSON.stringify({ observedAt: 'yesterday', hosts: [{ name: 'h1', lifecycle: 'running', power: 'on', colour: 'red' }] }), 'snap.json');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('Cannot read observed state "snap.json": ');
    expect(msg).toContain('/observedAt: must match format "date-time"');
    expect(msg).toContain('/hosts/0/lifecycle: must be one of "unknown"');
    expect(msg).toContain('/hosts/0: unknown property "colour"');
  });
});
