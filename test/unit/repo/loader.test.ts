import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { syntheticHost, syntheticPolicy, syntheticSite, syntheticTemplate } from '../../../src/bench/synthetic.js';
import type { Diagnostic } from '../../../src/model/index.js';
import {
  diagnosticsJson,
  findLiteralSecrets,
  formatDiagnostic,
  formatGithubAnnotation,
  globToRegExp,
  LoadMemo,
  type LoadResult,
  loadDirectory,
  loadRepo,
  type FileReader,
  type ParseCache,
  type ParsedFile,
  parseFile,
} from '../../../src/repo/index.js';
import { plainResult } from '../../support/load-result.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/repo');
const enc = new TextEncoder();

/** A reader over an in-memory tree, as a Git tree would be (ids = content). */
function memReader(files: Record<string, string>): FileReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    list: async () => Object.keys(files).map((path) => ({ path, id: `id:${files[path]}` })),
    read: async (p) => {
      reads.push(p);
      return enc.encode(files[p]!);
    },
  };
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...yamlFiles(p));
    else if (e.isFile() && /\.ya?ml$/.test(e.name)) out.push(p);
  }
  return out;
}

describe('fast and exact parse paths agree', () => {
  const samples: [string, Uint8Array][] = [
    ...[...yamlFiles(join(FIXTURES, 'good')), ...yamlFiles(join(FIXTURES, 'bad/duplicate-mac'))].map(
      (f): [string, Uint8Array] => [relative(FIXTURES, f), readFileSync(f)],
    ),
    ['synthetic host', enc.encode(syntheticHost(7, 3))],
    ['synthetic site', enc.encode(syntheticSite(1))],
    ['synthetic policy', enc.encode(syntheticPolicy('edge'))],
    ['synthetic template', enc.encode(syntheticTemplate('edge'))],
    ['multi-document', enc.encode(`${syntheticSite(0)}---\n# comment\n${syntheticSite(1)}\n---\n`)],
    ['quoted name', enc.encode(syntheticSite(2).replace('name: site-2', 'name: "site-2"'))],
    [
      'comment between metadata and name',
      enc.encode(syntheticSite(2).replace('metadata:\n', 'metadata:\n  # the name\n\n')),
    ],
  ];
  test.each(samples)('%s', (_name, bytes) => {
    const fast = parseFile(bytes);
    const exact = parseFile(bytes, { exact: true });
    expect(exact.exact).toBe(true);
    expect(fast.diagnostics).toEqual(exact.diagnostics);
    expect(fast.docs.map(({ pos: _p, ...d }) => d)).toEqual(exact.docs.map(({ pos: _p, ...d }) => d));
  });

  test('clean host files take the fast path, templates and files with problems the exact one', () => {
    expect(parseFile(enc.encode(syntheticHost(1, 3))).exact).toBe(false);
    expect(parseFile(enc.encode(syntheticTemplate('edge'))).exact).toBe(true);
    expect(parseFile(enc.encode(syntheticHost(1, 3).replace('firmware: uefi', 'firmware: efi'))).exact).toBe(true);
  });
});

describe('loadRepo', () => {
  test('builds DesiredState: resources, config, rendering, sources, normalised MACs', async () => {
    const r = await loadDirectory(join(FIXTURES, 'good'));
    const d = r.desired;
    expect(d.revision).toBe('worktree');
    expect(d.sites.map((s) => s.metadata.name)).toEqual(['lab']);
    expect(d.templates.map((t) => t.metadata.name)).toEqual(['base']);
    expect(d.policies.map((p) => p.metadata.name)).toEqual(['workers']);
    expect(d.config).toEqual({ statusBranch: 'gough/status', ignore: ['drafts/**'] });
    expect(d.sources.get('Host/node-2')).toEqual({ file: 'hosts/node-2.yaml', line: 4, col: 9 });
    expect(d.sources.get('Site/lab')).toEqual({ file: 'sites/lab.yaml', line: 4, col: 9 });
    expect(d.rendered.get('node-1')?.userData).toContain('rack r1');
    expect(d.hosts[0]!.spec.power).toBe('on');
  });

  test('MACs are compared and stored lower-case', async () => {
    const host = syntheticHost(0, 1).replace(/02:00:00:00:00:0a/g, '02:00:00:00:00:0A');
    const r = await loadRepo(
      memReader({ 's.yaml': syntheticSite(0), 't.yaml': syntheticTemplate('k8s-worker'), 'h.yaml': host }),
      {
        revision: 'r1',
      },
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.desired.hosts[0]!.spec.hardware.macs[0]).toBe('02:00:00:00:00:0a');
    expect(r.desired.hosts[0]!.spec.hardware.bootMac).toBe('02:00:00:00:00:0a');
  });

  test('a parse cache keyed by content id avoids re-reading unchanged files', async () => {
    const store = new Map<string, ParsedFile>();
    const cache: ParseCache = {
      get: (id) => store.get(id),
      set: (id, f) => store.set(id, JSON.parse(JSON.stringify(f))),
    };
    const files = { 's.yaml': syntheticSite(0), 't.yaml': syntheticTemplate('edge'), 'h.yaml': syntheticHost(2, 1) };
    const first = memReader(files);
    const a = await loadRepo(first, { revision: 'a', cache });
    expect(first.reads.sort()).toEqual(['h.yaml', 's.yaml', 't.yaml']);
    const second = memReader({ ...files, 'h.yaml': syntheticHost(2, 1).replace('power: "on"', 'power: "off"') });
    const b = await loadRepo(second, { revision: 'b', cache });
    expect(second.reads).toEqual(['h.yaml']);
    expect(a.desired.hosts[0]!.spec.power).toBe('on');
    expect(b.desired.hosts[0]!.spec.power).toBe('off');
    expect(b.desired.rendered.size).toBe(1);
  });

  test('a load memo answers an unchanged tree without reading, and re-renders only the host that changed', async () => {
    const m = new Map<string, ParsedFile>();
    const cache: ParseCache = { get: (id) => m.get(id), set: (id, f) => m.set(id, f) };
    const memo = new LoadMemo();
    const files: Record<string, string> = { 's.yaml': syntheticSite(0) };
    for (const role of ['k8s-worker', 'database', 'edge']) files[`t-${role}.yaml`] = syntheticTemplate(role);
    for (let i = 0; i < 6; i++) files[`h${i}.yaml`] = syntheticHost(i, 1);
    const a = await loadRepo(memReader(files), { revision: 'a', cache, memo });
    expect(a.diagnostics).toEqual([]);

    const same = memReader(files);
    const a2 = await loadRepo(same, { revision: 'a2', cache, memo });
    expect(same.reads).toEqual([]);
    expect(memo.reused).toBe(1);
    expect(a2.desired.revision).toBe('a2');
    expect(a2.desired.hosts).toBe(a.desired.hosts);

    const changed: Record<string, string> = { ...files, 'h3.yaml': files['h3.yaml']!.replaceAll('rack: r0', 'rack: r9') };
    const b = await loadRepo(memReader(changed), { revision: 'b', cache, memo });
    const fresh = await loadRepo(memReader(changed), { revision: 'b' });
    expect(plainResult(b)).toEqual(fresh);
    const name = (i: number) => b.desired.hosts[i]!.metadata.name;
    expect(b.desired.rendered.get(name(3))).not.toEqual(a.desired.rendered.get(name(3)));
    for (const i of [0, 1, 2, 4, 5]) expect(b.desired.rendered.get(name(i))).toBe(a.desired.rendered.get(name(i)));

    // A changed template re-renders the hosts that use it, and only those.
    const t = { ...changed, 't-edge.yaml': changed['t-edge.yaml']!.replace('rack={{ vars.rack }}', 'r={{ vars.rack }}') };
    const c = await loadRepo(memReader(t), { revision: 'c', cache, memo });
    expect(c).toEqual(await loadRepo(memReader(t), { revision: 'c' }));
    for (const h of c.desired.hosts) {
      const same = c.desired.rendered.get(h.metadata.name) === b.desired.rendered.get(h.metadata.name);
      expect(same).toBe(h.spec.template !== 'edge');
    }
  });

  test('a stored result is used for a listing with the same content ids, whatever the revision', async () => {
    const stored = new Map<string, LoadResult>();
    const cache: ParseCache = {
      get: () => undefined,
      set: () => {},
      getResult: (k) => stored.get(k),
      setResult: (k, r) => stored.set(k(), structuredClone(r())),
    };
    const files = { 's.yaml': syntheticSite(0), 't.yaml': syntheticTemplate('k8s-worker'), 'h.yaml': syntheticHost(0, 1) };
    const a = await loadRepo(memReader(files), { revision: 'a', cache });
    expect(stored.size).toBe(1);
    const again = memReader(files);
    const b = await loadRepo(again, { revision: 'b', cache });
    expect(again.reads).toEqual([]);
    expect(b).toEqual({ ...a, desired: { ...a.desired, revision: 'b' } });
    const other = memReader({ ...files, 'h.yaml': files['h.yaml'].replace('power: "on"', 'power: "off"') });
    await loadRepo(other, { revision: 'c', cache });
    expect(other.reads.length).toBeGreaterThan(0);
    expect(stored.size).toBe(2);
  });

  test('diagnostics of cached, fast-parsed files still point at the exact node', async () => {
    const cache: ParseCache = (() => {
      const m = new Map<string, ParsedFile>();
      return { get: (id) => m.get(id), set: (id, f) => m.set(id, f) };
    })();
    const files = {
      's.yaml': syntheticSite(0),
      't.yaml': syntheticTemplate('k8s-worker'),
      'a.yaml': syntheticHost(0, 1),
    };
    await loadRepo(memReader(files), { revision: 'a', cache });
    const dup = syntheticHost(0, 1).replace('name: h000000', 'name: h999999');
    const r = await loadRepo(memReader({ ...files, 'b.yaml': dup }), { revision: 'b', cache });
    const got = r.diagnostics.map((d) => `${formatDiagnostic(d)}`);
    expect(got).toEqual([
      'b.yaml:11:12: error[duplicate-mac]: MAC "02:00:00:00:00:0a" is already used by host "h000000" (a.yaml:4:9)',
      'b.yaml:11:33: error[duplicate-mac]: MAC "02:01:00:00:00:0a" is already used by host "h000000" (a.yaml:4:9)',
      'b.yaml:17:16: error[duplicate-bmc]: BMC "172.16.0.10:623" is already used by host "h000000" (a.yaml:4:9)',
      'b.yaml:25:14: error[duplicate-ip]: IP address "10.0.0.10" is already used by host "h000000" (a.yaml:4:9)',
    ]);
  });

  test('RepoConfig.ignore skips files; every error of the repo is reported in one run, sorted', async () => {
    const r = await loadRepo(
      memReader({
        'gough.yaml':
          'apiVersion: gough.dev/v1\nkind: RepoConfig\nmetadata: {name: settings}\nspec:\n  ignore: ["drafts/**", "*.tmp.yaml"]\n',
        'drafts/x.yaml': 'not: [valid',
        'hosts/y.tmp.yaml': 'kind: Nope',
        'b.yaml': 'kind: Nope\n',
        'a.yaml': 'apiVersion: gough.dev/v2\n---\nkind: Nope\n',
      }),
      { revision: 'x' },
    );
    expect(r.files).toBe(3);
    expect(r.diagnostics.map((d) => `${d.file}:${d.line}:${d.code}`)).toEqual([
      'a.yaml:1:unknown-api-version',
      'a.yaml:3:unknown-kind',
      'b.yaml:1:unknown-kind',
    ]);
  });

  test('an aborted load rejects', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(loadRepo(memReader({ 'a.yaml': '' }), { revision: 'x', signal: ac.signal })).rejects.toThrow();
  });
});

describe('literal secrets', () => {
  test('values never appear in messages', () => {
    const doc = {
      spec: {
        password: 'hunter2-value',
        nested: { apiKey: 'k-123456789', list: [{ token: 'tok-abcdef' }] },
        url: 'https://admin:pa55word@bmc.example/x',
        chpasswd: { list: 'root:rootpw-123' },
        vars: { db_password: { description: 'x', default: 'default-pw' } },
        ok: { credentialsRef: { env: 'BMC_PASSWORD' }, passwordRef: { file: '/etc/x', key: 'password' } },
        templated: { password: '{{ vars.pw }}' },
        flags: { lock_passwd: true },
      },
    };
    const found = findLiteralSecrets(doc);
    expect(found.map((f) => f.path.join('.'))).toEqual([
      'spec.password',
      'spec.nested.apiKey',
      'spec.nested.list.0.token',
      'spec.url',
      'spec.chpasswd.list',
      'spec.vars.db_password.default',
    ]);
    for (const f of found) expect(f.message).not.toMatch(/hunter2|k-123|tok-abc|pa55word|rootpw|default-pw/);
  });
});

describe('output formats', () => {
  const d: Diagnostic = {
    file: 'hosts/a,b.yaml',
    line: 3,
    col: 7,
    severity: 'error',
    code: 'schema',
    message: 'Bad: 50% of "x"\nnext',
  };
  test('text', () => {
    expect(formatDiagnostic(d)).toBe('hosts/a,b.yaml:3:7: error[schema]: Bad: 50% of "x"\nnext');
  });
  test('github annotations escape properties and data', () => {
    expect(formatGithubAnnotation(d, 'repo')).toBe(
      '::error file=repo/hosts/a%2Cb.yaml,line=3,col=7,title=gough validate (schema)::Bad: 50%25 of "x"%0Anext',
    );
    expect(formatGithubAnnotation({ ...d, severity: 'warning' })).toMatch(/^::warning file=hosts\/a%2Cb.yaml,/);
  });
  test('json', () => {
    expect(JSON.parse(diagnosticsJson([d]))).toEqual({
      diagnostics: [{ file: 'hosts/a,b.yaml', line: 3, col: 7, severity: 'error', code: 'schema', message: d.message }],
    });
  });
});

test('ignore globs', () => {
  const g = (p: string) => globToRegExp(p);
  expect(g('drafts/**').test('drafts/a/b.yaml')).toBe(true);
  expect(g('drafts/**').test('x/drafts/a.yaml')).toBe(false);
  expect(g('*.tmp.yaml').test('a/b/c.tmp.yaml')).toBe(true);
  expect(g('hosts/*.yaml').test('hosts/a/b.yaml')).toBe(false);
  expect(g('**/old-?.yaml').test('a/old-1.yaml')).toBe(true);
  expect(g('**/old-?.yaml').test('old-1.yaml')).toBe(true);
});
