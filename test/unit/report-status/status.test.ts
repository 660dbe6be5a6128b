import { describe, expect, it } from 'vitest';
import type { DesiredState, Host, ObservedHost, Plan, Site, StatusDoc } from '../../../src/model/index.js';
import { computeStatusDocs, renderStatusSummary, statusCommitMessage, statusFiles } from '../../../src/report/index.js';

const site: Site = { apiVersion: 'gough.dev/v1', kind: 'Site', metadata: { name: 'dc1' }, spec: { provisioner: 'maas' } };
const host = (name: string): Host => ({
  apiVersion: 'gough.dev/v1',
  kind: 'Host',
  metadata: { name, labels: { role: 'web' } },
  spec: { site: 'dc1', hardware: { macs: ['52:54:00:00:00:01'], arch: 'amd64', firmware: 'uefi' }, state: 'deployed', power: 'on' },
});
const desired: DesiredState = {
  revision: 'abcdef0123456789abcdef0123456789abcdef01',
  sites: [site],
  hosts: [host('b'), host('a'), host('c'), host('d')],
  templates: [],
  policies: [],
  config: {} as DesiredState['config'],
  rendered: new Map(['a', 'b', 'c', 'd'].map((n) => [n, { host: n, os: { distro: 'ubuntu', series: 'noble' }, userData: '', metaData: '', ipxeScript: '', kernelArgs: '', specHash: `h-${n}` }])),
  sources: new Map(),
};
const obs = (name: string, lifecycle: ObservedHost['lifecycle'], extra: Partial<ObservedHost> = {}): ObservedHost => ({
  name,
  lifecycle,
  power: 'on',
  provider: { kind: 'maas', id: name, status: lifecycle },
  errors: [],
  ...extra,
});
const observed = new Map([
  ['a', obs('a', 'deployed', { deployedSpecHash: 'h-a' })],
  ['b', obs('b', 'deploying')],
  ['c', obs('c', 'failed', { provider: { kind: 'maas', id: 'c', status: 'Failed deployment', message: 'Failed via http://admin:pw@maas/x' } })],
  ['d', obs('d', 'ready', { power: 'off' })],
]);
const deployD = { id: 'x', host: 'd', site: 'dc1', kind: 'deploy' as const, reason: 'wants deployed', disruptive: false };
const plan: Plan = {
  revision: desired.revision,
  actions: [],
  waits: [{ host: 'b', reason: 'deploying' }],
  blocked: [{ action: deployD, reasons: [{ kind: 'window', message: 'Outside maintenance window' }] }],
  orphans: [],
  summary: { hosts: 4, actions: 0, disruptive: 0, waits: 1, blocked: 1, orphans: 0, byKind: {}, converged: false },
};

function run(previous = new Map<string, StatusDoc>(), now = '2026-01-01T00:00:00.000Z'): StatusDoc[] {
  return computeStatusDocs({ site: 'dc1', desired, observed, plan, lastActions: new Map(), inFlight: new Set(), previous, now });
}

describe('status documents', () => {
  it('computes conditions per host, sorted, with no secret in them', () => {
    const docs = run();
    expect(docs.map((d) => d.host)).toEqual(['a', 'b', 'c', 'd']);
    const on = (d: StatusDoc) => d.conditions.filter((c) => c.status === 'True').map((c) => `${c.type}:${c.reason}`);
    expect(docs.map(on)).toEqual([['Ready:Converged'], ['Provisioning:Waiting'], ['Degraded:ProviderFailed'], ['Blocked:Window']]);
    expect(docs[0]).toMatchObject({ specHash: 'h-a', desiredRevision: desired.revision, observed: { lifecycle: 'deployed', deployedSpecHash: 'h-a' } });
    expect(JSON.stringify(docs)).not.toContain('pw@');
  });

  it('keeps transition times while a condition holds, so an idle pass changes no file', () => {
    const first = run();
    const second = run(new Map(first.map((d) => [d.host, d])), '2026-01-02T00:00:00.000Z');
    expect(statusFiles('dc1', desired.revision, second)).toEqual(statusFiles('dc1', desired.revision, first));
  });

  it('renders a summary table and a commit message with counts and the revision', () => {
    const docs = run();
    const md = renderStatusSummary('dc1', desired.revision, docs);
    expect(md).toContain('4 hosts, 1 ready, 1 provisioning, 1 degraded, 1 blocked');
    expect(md).toContain('| d | ready | off | no | Blocked: Window |  |');
    expect(statusCommitMessage('dc1', desired.revision, docs)).toBe(
      `status(dc1): 1/4 ready, 1 provisioning, 1 degraded, 1 blocked at abcdef012345\n\nDesired-Revision: ${desired.revision}\n`,
    );
    expect([...statusFiles('dc1', desired.revision, docs).keys()]).toEqual(['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml', 'summary.md']);
  });
});
