/**
 * `npm run bench -- plan`: plan() on synthetic fleets of 10,000 and 100,000 hosts (the synthetic repos of the
 * validate bench plus 10 more label-selector policies), observed in a realistic mix (most deployed and current,
 * some with an old spec, new, absent, deploying, failed, powered off). Times plan() alone (validate excluded),
 * validate + plan, and a re-plan after a one-host change. Targets: 10,000 hosts ≤ 200 ms, 100,000 ≤ 2 s.
 */
import { rm } from 'node:fs/promises';
import type { DesiredState, ObservedHost, ObservedState, PlanContext, Policy, RenderedHost } from '../model/index.js';
import { plan } from '../plan/index.js';
import { loadDirectory } from '../repo/index.js';
import { type Benchmark, measure, table } from './harness.js';
import { generateSyntheticRepo } from './synthetic.js';

const SIZES = (process.env['GOUGH_BENCH_PLAN_SIZES'] ?? '10000,100000').split(',').map(Number);
const NOW = '2026-11-23T10:00:00Z';

function extraPolicies(): Policy[] {
  const out: Policy[] = [];
  for (let i = 0; i < 10; i++) {
    out.push({
      apiVersion: 'gough.dev/v1',
      kind: 'Policy',
      metadata: { name: `bench-${i}` },
      spec: {
        selector: i % 2 === 0 ? { matchLabels: { role: i % 4 === 0 ? 'database' : 'edge' } } : { sites: [`site-${i % 3}`] },
        ...(i % 3 === 0 ? { requireApprovals: { count: 1, from: ['@acme/sre'] } } : {}),
        ...(i === 5 ? { protect: true, selector: { hosts: ['h000005'] } } : {}),
        maxUnavailable: `${5 + i}%`,
      },
    });
  }
  return out;
}

/** A deterministic mix of observations: index-based, so runs are comparable. */
function observe(desired: DesiredState): ObservedState {
  const hosts: ObservedHost[] = [];
  desired.hosts.forEach((h, i) => {
    const name = h.metadata.name;
    const spec = desired.rendered.get(name)?.specHash ?? 'x';
    const base = { name, site: h.spec.site, provider: { kind: 'pxe', id: name, status: '' }, errors: [] };
    const r = i % 100;
    if (r < 5) return; // absent: register
    if (r < 10) hosts.push({ ...base, lifecycle: 'new', power: 'off' });
    else if (r < 15) hosts.push({ ...base, lifecycle: 'deploying', power: 'on' });
    else if (r < 17) hosts.push({ ...base, lifecycle: 'failed', power: 'off' });
    else if (r < 20) hosts.push({ ...base, lifecycle: 'deployed', power: 'off', deployedSpecHash: spec });
    else if (r < 30) hosts.push({ ...base, lifecycle: 'deployed', power: 'on', deployedSpecHash: 'old-spec' });
    else hosts.push({ ...base, lifecycle: 'deployed', power: 'on', deployedSpecHash: spec, agent: { lastSeen: NOW, healthy: true, specHash: spec } });
  });
  return { observedAt: NOW, hosts };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export const benchmark: Benchmark = {
  name: 'plan',
  title: 'plan() on synthetic fleets (validate excluded, then included; re-plan after a one-host change)',
  async run(print) {
    const rows: (string | number)[][] = [];
    const ctx: PlanContext = { now: NOW, approvals: [{ user: 'alice', teams: ['acme/sre'] }], inFlight: [], failed: [] };
    for (const n of SIZES) {
      const repo = await generateSyntheticRepo({ hosts: n });
      try {
        (globalThis as { gc?: () => void }).gc?.();
        const loadedM = await measure(() => loadDirectory(repo.dir));
        const loaded = loadedM.value;
        if (loaded.diagnostics.length > 0) throw new Error(`Synthetic repo is not clean: ${loaded.diagnostics[0]!.message}`);
        const desired: DesiredState = { ...loaded.desired, policies: [...loaded.desired.policies, ...extraPolicies()] };
        const observed = observe(desired);
        const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
        gc(); // what loading left behind is not the planner's garbage

        const first = await measure(() => plan(desired, observed, ctx));
        const warm: number[] = [];
        const cpu: number[] = [];
        for (let k = 0; k < 5; k++) {
          gc();
          const c0 = process.cpuUsage();
          warm.push((await measure(() => plan(desired, observed, ctx))).ms);
          const c = process.cpuUsage(c0);
          cpu.push((c.user + c.system) / 1000);
        }
        const p = first.value;

        // a one-host change: the first host's template output changes (a new specHash)
        const name = desired.hosts[0]!.metadata.name;
        const rendered = new Map(desired.rendered);
        const old = rendered.get(name)!;
        rendered.set(name, { ...old, specHash: `${old.specHash}-changed` } satisfies RenderedHost);
        const changed: DesiredState = { ...desired, rendered };
        const re: number[] = [];
        for (let k = 0; k < 5; k++) {
          gc();
          re.push((await measure(() => plan(changed, observed, ctx))).ms);
        }

        rows.push([
          n,
          desired.policies.length,
          Math.round(first.ms),
          Math.round(median(warm)),
          Math.round(Math.min(...warm)),
          Math.round(median(cpu)),
          Math.round(loadedM.ms + median(warm)),
          Math.round(Math.min(...re)),
          `${p.summary.actions}/${p.summary.blocked}/${p.summary.waits}`,
          Math.round(Math.max(first.peakRssMiB, loadedM.peakRssMiB)),
        ]);
      } finally {
        await rm(repo.dir, { recursive: true, force: true });
      }
    }
    for (const line of table(
      ['hosts', 'policies', 'plan ms (first)', 'plan ms (median of 5)', 'plan ms (best of 5)', 'plan CPU ms (median)', 'validate + plan ms', 're-plan after 1-host change ms (best of 5)', 'actions/blocked/waits', 'peak RSS MiB'],
      rows,
    ))
      print(line);
    print('');
    print('Targets: plan of 10,000 hosts ≤ 200 ms, 100,000 ≤ 2,000 ms (validate excluded). Wall times include');
    print('waiting for the CPU on a shared machine; CPU ms is the process time spent (all threads, GC included).');
  },
};
