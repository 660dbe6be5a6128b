/**
 * The loader's incremental path (src/repo/incremental.ts) must give exactly what a full load gives. Random
 * sequences of commits (host edits, adds, removals, renames, MAC swaps, conflicts, template edits, syntax errors,
 * ignored files, a policy left selecting nothing) are loaded with a memo and compared with a fresh full load of the
 * same tree at every step; the host-only steps must have taken the fast path.
 */
import { describe, expect, test } from 'vitest';
import { syntheticHost, syntheticHostName, syntheticPolicy, syntheticSite, syntheticTemplate } from '../../../src/bench/synthetic.js';
import { type FileReader, LoadMemo, type LoadResult, loadRepo, type ParseCache, type ParsedFile } from '../../../src/repo/index.js';
import { seededRandom } from '../../support/fuzz.js';
import { plainResult } from '../../support/load-result.js';

const enc = new TextEncoder();

/** A reader over an in-memory tree, as a Git tree would be (ids = content); `reads` collects the paths read. */
function memReader(files: Record<string, string>, reads: string[] = []): FileReader {
  return {
    list: async () => Object.keys(files).map((path) => ({ path, id: `id:${files[path]}` })),
    read: async (p) => {
      reads.push(p);
      return enc.encode(files[p]!);
    },
  };
}

const SITES = 2;
const SPECIAL = `apiVersion: gough.dev/v1
kind: Policy
metadata:
  name: special
spec:
  selector:
    matchLabels: { special: "yes" }
  protect: true
`;

function baseTree(hosts: number): Record<string, string> {
  const files: Record<string, string> = {
    'gough.yaml': 'apiVersion: gough.dev/v1\nkind: RepoConfig\nmetadata:\n  name: settings\nspec:\n  ignore: ["attic/**"]\n',
    'policies/special.yaml': SPECIAL,
  };
  for (let s = 0; s < SITES; s++) files[`sites/site-${s}.yaml`] = syntheticSite(s);
  for (const role of ['k8s-worker', 'database', 'edge']) {
    files[`templates/${role}.yaml`] = syntheticTemplate(role);
    files[`policies/${role}.yaml`] = syntheticPolicy(role);
  }
  for (let i = 0; i < hosts; i++) files[`hosts/${syntheticHostName(i)}.yaml`] = syntheticHost(i, SITES);
  // The one host the `special` policy selects.
  files['hosts/h000000.yaml'] = files['hosts/h000000.yaml']!.replace('labels:\n', 'labels:\n    special: "yes"\n');
  return files;
}

type Step = { name: string; hostOnly: boolean; apply(files: Record<string, string>): void };

/** Host files currently in the tree. */
const hostPaths = (files: Record<string, string>): string[] => Object.keys(files).filter((p) => p.startsWith('hosts/'));

function steps(rand: () => number): Step[] {
  let nextHost = 1000;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const macOf = (text: string): string => /macs: \["([^"]+)"/.exec(text)![1]!;
  return [
    {
      name: 'edit a label',
      hostOnly: true,
      apply: (f) => {
        const p = pick(hostPaths(f));
        f[p] = f[p]!.replace('labels:\n', `labels:\n    edit${Math.floor(rand() * 1e6)}: x\n`);
      },
    },
    {
      name: 'add a host',
      hostOnly: true,
      apply: (f) => {
        const i = nextHost++;
        f[`hosts/${syntheticHostName(i)}.yaml`] = syntheticHost(i, SITES);
      },
    },
    {
      name: 'remove a host',
      hostOnly: true,
      apply: (f) => {
        const p = pick(hostPaths(f).filter((x) => !f[x]!.includes('special:')));
        if (p !== undefined) delete f[p];
      },
    },
    {
      name: 'rename a host file',
      hostOnly: true,
      apply: (f) => {
        const p = pick(hostPaths(f));
        const text = f[p]!;
        delete f[p];
        f[`hosts/moved/${Math.floor(rand() * 1e6)}-${p.slice(6)}`] = text;
      },
    },
    {
      name: 'swap the MACs of two hosts in one commit',
      hostOnly: true,
      apply: (f) => {
        const [a, b] = [pick(hostPaths(f)), pick(hostPaths(f))];
        if (a === undefined || b === undefined || a === b) return;
        const [ma, mb] = [macOf(f[a]!), macOf(f[b]!)];
        f[a] = f[a]!.replaceAll(ma, '@@').replaceAll(mb, ma).replaceAll('@@', mb);
        f[b] = f[b]!.replaceAll(mb, '@@').replaceAll(ma, mb).replaceAll('@@', ma);
      },
    },
    {
      name: 'two hosts in one file',
      hostOnly: true,
      apply: (f) => {
        const i = nextHost++;
        const j = nextHost++;
        f[`hosts/pair-${i}.yaml`] = `${syntheticHost(i, SITES)}---\n${syntheticHost(j, SITES)}`;
      },
    },
    {
      name: 'duplicate MAC (an error)',
      hostOnly: false,
      apply: (f) => {
        const [a, b] = [pick(hostPaths(f)), pick(hostPaths(f))];
        if (a === b) return;
        f[b!] = f[b!]!.replaceAll(macOf(f[b!]!), macOf(f[a!]!));
      },
    },
    {
      name: 'duplicate IP address (an error)',
      hostOnly: false,
      apply: (f) => {
        const [a, b] = [pick(hostPaths(f)), pick(hostPaths(f))];
        if (a === b) return;
        const ip = (t: string) => /address: (10\.[\d.]+)\/16/.exec(t)![1]!;
        f[b!] = f[b!]!.replace(ip(f[b!]!), ip(f[a!]!));
      },
    },
    {
      name: 'unknown site (an error)',
      hostOnly: false,
      apply: (f) => {
        const p = pick(hostPaths(f));
        f[p] = f[p]!.replace(/site: site-\d/, 'site: nowhere');
      },
    },
    {
      name: 'name taken by another host (an error)',
      hostOnly: false,
      apply: (f) => {
        const [a, b] = [pick(hostPaths(f)), pick(hostPaths(f))];
        if (a === b) return;
        const nameA = /name: (h\d+)/.exec(f[a!]!)![1]!;
        f[b!] = f[b!]!.replace(/name: h\d+/, `name: ${nameA}`);
      },
    },
    {
      name: 'YAML syntax error',
      hostOnly: false,
      apply: (f) => {
        const p = pick(hostPaths(f));
        f[p] = `${f[p]}  broken: [\n`;
      },
    },
    {
      name: 'template edit',
      hostOnly: false,
      apply: (f) => {
        f['templates/edge.yaml'] = f['templates/edge.yaml']!.replace(/site=\{\{ site.name \}\}.*"/, `site={{ site.name }} v${Math.floor(rand() * 1e6)}"`);
      },
    },
    {
      name: 'an ignored file',
      hostOnly: false,
      apply: (f) => {
        const i = nextHost++;
        f[`attic/${syntheticHostName(i)}.yaml`] = syntheticHost(i, SITES);
      },
    },
    {
      name: 'a README edit (the same YAML files: the last result is reused)',
      hostOnly: false,
      apply: (f) => {
        f['README.md'] = `# Fleet ${Math.floor(rand() * 1e6)}\n`;
      },
    },
    {
      name: 'the special policy left selecting nothing (a warning)',
      hostOnly: false,
      apply: (f) => {
        const p = hostPaths(f).find((x) => f[x]!.includes('special:'));
        if (p !== undefined) f[p] = f[p]!.replace('    special: "yes"\n', '');
      },
    },
  ];
}

describe('incremental load', () => {
  test('equals a full load after every commit of a random history, and takes the fast path for host-only commits', async () => {
    const rand = seededRandom(20261123);
    const parsed = new Map<string, ParsedFile>();
    const cache: ParseCache = { get: (id) => parsed.get(id), set: (id, f) => parsed.set(id, f) };
    const memo = new LoadMemo();
    // The full loads get their own parse cache (parsing is not what is compared; it keeps the test quick).
    const fullParsed = new Map<string, ParsedFile>();
    const fullCache: ParseCache = { get: (id) => fullParsed.get(id), set: (id, f) => fullParsed.set(id, f) };
    const good = baseTree(40);
    let files = { ...good };
    const first = await loadRepo(memReader(files), { revision: 'r0', cache, memo });
    expect(first.diagnostics).toEqual([]);
    const all = steps(rand);
    let fast = 0;
    let fastExpected = 0;
    for (let n = 1; n <= 250; n++) {
      // Mostly host-only commits from a clean tree; now and then a bad one, then back to the last good tree.
      const wasClean = memo.last?.result.diagnostics.length === 0;
      const step = rand() < 0.7 ? pick(all.filter((s) => s.hostOnly), rand) : pick(all, rand);
      const before = { ...files };
      step.apply(files);
      const revision = `r${n}`;
      const incBefore = memo.incremental;
      const got = await loadRepo(memReader(files), { revision, cache, memo });
      const want = await loadRepo(memReader(files), { revision, cache: fullCache });
      expect(plainResult(got), `step ${n}: ${step.name}`).toEqual(want);
      const tookFast = memo.incremental > incBefore;
      if (tookFast) {
        fast++;
        expect(want.diagnostics, `step ${n}: ${step.name} took the fast path`).toEqual([]);
      }
      if (step.hostOnly && wasClean && JSON.stringify(before) !== JSON.stringify(files)) {
        fastExpected++;
        expect(tookFast, `step ${n}: ${step.name} should take the fast path`).toBe(true);
      }
      if (!step.hostOnly) expect(tookFast, `step ${n}: ${step.name} must take the full path`).toBe(false);
      if (want.diagnostics.length > 0) files = { ...good };
      else {
        for (const k of Object.keys(good)) if (!(k in files)) delete good[k];
        Object.assign(good, files);
      }
    }
    expect(fast).toBe(fastExpected);
    expect(fast).toBeGreaterThan(100);
  });

  test('a host-only commit re-renders and re-reads only the changed host', async () => {
    const files = baseTree(10);
    const reads: string[] = [];
    const reader = (f: Record<string, string>): FileReader => memReader(f, reads);
    const parsed = new Map<string, ParsedFile>();
    const cache: ParseCache = { get: (id) => parsed.get(id), set: (id, f) => parsed.set(id, f) };
    const memo = new LoadMemo();
    const a = await loadRepo(reader(files), { revision: 'a', cache, memo });
    reads.length = 0;
    const next = { ...files, 'hosts/h000003.yaml': files['hosts/h000003.yaml']!.replace('vars:\n    rack: r', 'vars:\n    rack: x') };
    const b = await loadRepo(reader(next), { revision: 'b', cache, memo });
    expect(memo.incremental).toBe(1);
    expect(reads).toEqual(['hosts/h000003.yaml']);
    expect(b.desired.revision).toBe('b');
    for (const h of b.desired.hosts) {
      const same = b.desired.rendered.get(h.metadata.name) === a.desired.rendered.get(h.metadata.name);
      expect(same, h.metadata.name).toBe(h.metadata.name !== 'h000003');
    }
    // The earlier result is untouched (results are handed out; only the memo's index is updated in place).
    expect(a.desired.rendered.get('h000003')).not.toEqual(b.desired.rendered.get('h000003'));
    expect(a.desired.hosts.find((h) => h.metadata.name === 'h000003')!.spec.vars).toEqual({ rack: 'r0' });
  });
});

describe('after a restart', () => {
  test('a result reused from the store has no index; an indexing load of the same files gives one, and the next host-only commit is incremental', async () => {
    const files = baseTree(12);
    const stored = new Map<string, LoadResult>();
    const parsed = new Map<string, ParsedFile>();
    const cache: ParseCache = {
      get: (id) => parsed.get(id),
      set: (id, f) => parsed.set(id, f),
      getResult: (k) => stored.get(k),
      setResult: (k, r) => stored.set(k(), r()),
    };
    await loadRepo(memReader(files), { revision: 'a', cache, memo: new LoadMemo() });
    // A new process: a fresh memo, the stored result.
    const memo = new LoadMemo();
    const reused = await loadRepo(memReader(files), { revision: 'a', cache, memo });
    expect(memo.reused).toBe(1);
    expect(memo.last?.index).toBeUndefined();
    const indexed = await loadRepo(memReader(files), { revision: 'a', cache, memo, index: true });
    expect(plainResult(indexed)).toEqual(plainResult(reused));
    expect(memo.last?.index).toBeDefined();
    const next = { ...files, 'hosts/h000004.yaml': files['hosts/h000004.yaml']!.replace('labels:\n', 'labels:\n    x: y\n') };
    const b = await loadRepo(memReader(next), { revision: 'b', cache, memo });
    expect(memo.incremental).toBe(1);
    expect(plainResult(b)).toEqual(await loadRepo(memReader(next), { revision: 'b' }));
  });
});

function pick<T>(xs: readonly T[], rand: () => number): T {
  return xs[Math.floor(rand() * xs.length)]!;
}
