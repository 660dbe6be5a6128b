import { describe, expect, it } from 'vitest';
import type { DesiredState, Host, ObservedHost, Plan, Site, StatusDoc } from '../../../src/model/index.js';
import { parse } from 'yaml';
import { computeStatusDocs, renderStatusSummary, renderStatusYaml, statusCommitMessage, statusFiles } from '../../../src/report/index.js';
import { seededRandom } from '../../support/fuzz.js';

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

  it('reuses the document of a host whose situation holds, and equals a fresh computation whatever changed', () => {
    const first = run();
    const prev = new Map(first.map((d) => [d.host, d]));
    const changedObs = new Map(observed);
    changedObs.set('d', obs('d', 'ready', { power: 'on' }));
    const last = new Map([['a', { kind: 'deploy' as const, id: 'a/deploy', outcome: 'succeeded' as const, at: '2026-01-01T00:00:00.000Z' }]]);
    const input = (previous: Map<string, StatusDoc>) => ({
      site: 'dc1',
      desired,
      observed: changedObs,
      plan,
      lastActions: last,
      inFlight: new Set<string>(),
      previous,
      now: '2026-01-03T00:00:00.000Z',
    });
    const got = computeStatusDocs(input(prev));
    // A copy of the previous documents is not recognised: every document is computed afresh from it.
    const fresh = computeStatusDocs(input(new Map(first.map((d) => [d.host, structuredClone(d)]))));
    expect(got).toEqual(fresh);
    const same = got.map((d, i) => d === first[i]);
    expect(same).toEqual([false, true, true, false]); // a: new last action; d: power changed
    expect(got[3]!.observed.power).toBe('on');
    // A new desired revision makes every document new (each names it), equal to one computed afresh.
    const next = { ...desired, revision: 'f'.repeat(40) };
    const moved = computeStatusDocs({ ...input(new Map(got.map((d) => [d.host, d]))), desired: next });
    expect(moved.some((d, i) => d === got[i])).toBe(false);
    expect(moved.every((d) => d.desiredRevision === 'f'.repeat(40))).toBe(true);
    const movedFresh = computeStatusDocs({ ...input(new Map(got.map((d) => [d.host, structuredClone(d)]))), desired: next });
    expect(moved).toEqual(movedFresh);
    expect(statusFiles('dc1', next.revision, moved)).toEqual(statusFiles('dc1', next.revision, movedFresh));
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

describe('status YAML', () => {
  const doc = (over: Partial<StatusDoc> = {}): StatusDoc => ({
    host: 'r1-n01',
    site: 'dc1',
    desiredRevision: '0123456789abcdef0123456789abcdef01234567',
    specHash: 'sha256:9f86d081884c7d65',
    observed: { lifecycle: 'deployed', power: 'on', deployedSpecHash: 'sha256:9f86d081884c7d65', message: 'Deployed' },
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Converged', message: 'Host is deployed', lastTransitionTime: '2026-11-23T10:00:00.000Z' },
      { type: 'Provisioning', status: 'False', reason: 'Idle', message: '', lastTransitionTime: '2026-11-23T10:00:00.000Z' },
    ],
    lastAction: { kind: 'deploy', id: 'r1-n01/deploy/abc', outcome: 'succeeded', at: '2026-11-23T09:59:00.000Z', message: 'Deployed: ubuntu/noble' },
    ...over,
  });
  const body = (text: string) => parse(text) as unknown;

  it('reads back as the document, with plain scalars where they are unambiguous', () => {
    const text = renderStatusYaml(doc());
    expect(text.startsWith('# Written by gough; do not edit.\n')).toBe(true);
    expect(body(text)).toEqual(doc());
    expect(text).toContain('\nhost: r1-n01\n');
    expect(text).toContain('    message: Host is deployed\n');
    // Would read as a boolean, a number or a timestamp in some YAML reader: quoted.
    expect(text).toContain("    status: 'True'\n");
    expect(text).toContain("desiredRevision: '0123456789abcdef0123456789abcdef01234567'\n");
    expect(text).toContain("    lastTransitionTime: '2026-11-23T10:00:00.000Z'\n");
    expect(text).toContain("  message: 'Deployed: ubuntu/noble'\n");
    // Optional fields absent: absent from the file too.
    const bare = doc({ observed: { lifecycle: 'new', power: 'unknown' }, conditions: [] });
    delete bare.specHash;
    delete bare.lastAction;
    expect(body(renderStatusYaml(bare))).toEqual(bare);
  });

  it('reads back exactly for any strings (random, hostile, unicode)', () => {
    const rand = seededRandom(7);
    const pool = [
      'true', 'False', 'NULL', '~', 'yes', 'off', 'y', '1e3', '0x1f', '.inf', '-.5', '+1', '007', '12:30', '2026-11-23',
      'a: b', 'a:b', 'a #b', '#c', '- x', '? q', '[x]', '{y}', '*a', '&b', '!t', '|', '>', '%d', '@', '`', "'s'", '"d"',
      'trail ', ' lead', 'x:', '', ' ', '\t', 'a\nb', 'a\r\nb', '\u0000', '\u007f', '\u0085', '\u0086', '\u2028', '\ufeff',
      '\ufffe', '\ud800', '\udc00x', '😀', 'naïve', 'a\\b', 'a"b', 'x---', '---', '...', 'C:\\path', 'k=v;w',
    ];
    const str = (): string => {
      if (rand() < 0.5) return pool[Math.floor(rand() * pool.length)]!;
      let s = '';
      const n = Math.floor(rand() * 12);
      for (let i = 0; i < n; i++) s += String.fromCharCode(rand() < 0.8 ? 32 + Math.floor(rand() * 95) : Math.floor(rand() * 0x10000));
      return s;
    };
    for (let i = 0; i < 3000; i++) {
      const d: StatusDoc = {
        host: str(),
        site: str(),
        desiredRevision: str(),
        specHash: str(),
        observed: { lifecycle: 'deployed', power: 'on', deployedSpecHash: str(), message: str() },
        conditions: [{ type: 'Blocked', status: 'False', reason: str(), message: str(), lastTransitionTime: str() }],
        lastAction: { kind: 'release', id: str(), outcome: 'failed', at: str(), message: str() },
      };
      const text = renderStatusYaml(d);
      expect(body(text), JSON.stringify(d)).toEqual(d);
    }
  });
});
