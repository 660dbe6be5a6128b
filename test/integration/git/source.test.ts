import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskParseCache, GitSource, GitStatusWriter, watchBranch } from '../../../src/git/index.js';
import { type GitServer, WorkRepo, createBareRepo, gitCmd, startGitServer } from '../../support/git-server.js';

const TOKEN = 'tok-3f9a1c-not-a-real-secret';
let server: GitServer;
let state: string;
const works: WorkRepo[] = [];

beforeAll(async () => {
  server = await startGitServer({ token: TOKEN });
  state = mkdtempSync(join(tmpdir(), 'gough-git-state-'));
});
afterAll(async () => {
  await server.close();
  rmSync(state, { recursive: true, force: true });
  for (const w of works) w.rmrf();
});

function work(): WorkRepo {
  const w = new WorkRepo();
  works.push(w);
  return w;
}

function authedUrl(repo: string): string {
  return server.url(repo).replace('http://', `http://x:${TOKEN}@`);
}

describe('git source (git http-backend)', () => {
  it('fetches a remote with a token and lists a commit from objects with blob ids like git ls-tree', async () => {
    createBareRepo(server.root, 'fleet.git');
    const w = work().write({
      'sites/lab.yaml': 'kind: Site\n',
      'hosts/r1/n1.yaml': 'kind: Host\nname: n1\n',
      'hosts/r1/n2.yaml': 'kind: Host\nname: n2\n',
      '.github/workflows/ci.yaml': 'on: push\n',
      'README.md': '# fleet\n',
    });
    const c1 = w.commit('first');
    await w.push(authedUrl('fleet.git'));

    const src = await GitSource.open({
      url: server.url('fleet.git'),
      branch: 'main',
      cloneDir: join(state, 'a.git'),
      auth: { token: TOKEN },
    });
    expect(await src.resolve()).toBe(c1);
    const reader = src.reader(c1, { include: (p) => p.endsWith('.yaml') });
    const files = await reader.list();
    const native = gitCmd(w.dir, ['ls-tree', '-r', 'HEAD'])
      .split('\n')
      .map((l) => l.split(/\s+/))
      .filter((f) => f[3]!.endsWith('.yaml') && !f[3]!.startsWith('.'))
      .map((f) => ({ path: f[3], id: f[2] }));
    expect(files.map((f) => ({ path: f.path, id: f.id }))).toEqual(native);
    expect(new TextDecoder().decode(await reader.read('hosts/r1/n2.yaml'))).toBe('kind: Host\nname: n2\n');
    // No work tree anywhere: the clone is bare.
    expect(gitCmd(join(state, 'a.git'), ['rev-parse', '--is-bare-repository'])).toBe('true');

    // A one-file commit: only that blob id changes.
    w.write({ 'hosts/r1/n2.yaml': 'kind: Host\nname: n2\nchanged: true\n' });
    const c2 = w.commit('second');
    await w.push(authedUrl('fleet.git'));
    expect(await src.resolve()).toBe(c2);
    const files2 = await src.reader(c2, { include: (p) => p.endsWith('.yaml') }).list();
    const changed = files2.filter((f, i) => f.id !== files[i]?.id).map((f) => f.path);
    expect(changed).toEqual(['hosts/r1/n2.yaml']);
  });

  it('rejects a wrong token as auth-failed without echoing it', async () => {
    const src = await GitSource.open({
      url: server.url('fleet.git'),
      branch: 'main',
      cloneDir: join(state, 'bad.git'),
      auth: { token: 'wrong-token-value' },
    });
    const err = await src.resolve().catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'auth-failed' });
    expect(String((err as Error).message)).not.toContain('wrong-token-value');
  });

  it('reads a local repository in place and reports symlinks on read', async () => {
    const w = work().write({ 'a.yaml': 'x: 1\n' });
    gitCmd(w.dir, ['commit', '--allow-empty', '-q', '-m', 'empty']);
    gitCmd(w.dir, ['config', 'core.symlinks', 'true']);
    const { symlinkSync } = await import('node:fs');
    symlinkSync('/etc/passwd', join(w.dir, 'link.yaml'));
    const c = w.commit('files');
    const src = await GitSource.open({ path: w.dir, branch: 'main' });
    expect(await src.resolve()).toBe(c);
    const r = src.reader(c);
    expect((await r.list()).map((f) => f.path)).toEqual(['a.yaml', 'link.yaml']);
    await expect(r.read('link.yaml')).rejects.toMatchObject({ code: 'file-read' });
    await expect(src.reader(c, { maxBytes: 2 }).read('a.yaml')).rejects.toMatchObject({ code: 'yaml-limit' });
  });

  it('lists in path order where the byte order of Git differs (names beyond U+FFFF) and reads every file it lists', async () => {
    // Git orders tree entries by UTF-8 bytes; paths compare by UTF-16 code units: "\u{1F600}" sorts before "\uFF21".
    const names = ['hosts/a.yaml', 'hosts/\uFF21.yaml', 'hosts/\u{1F600}.yaml', 'hosts/z/\uFF21.yaml', 'hosts/z/\u{1F600}.yaml', 'i.yaml'];
    const w = work().write(Object.fromEntries(names.map((n, i) => [n, `n: ${i}\n`])));
    const c = w.commit('names');
    const src = await GitSource.open({ path: w.dir, branch: 'main' });
    const r = src.reader(c);
    const listed = (await r.list()).map((f) => f.path);
    expect(listed).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const n of names) expect(new TextDecoder().decode(await r.read(n))).toBe(`n: ${names.indexOf(n)}\n`);
    await expect(r.read('hosts/b.yaml')).rejects.toMatchObject({ code: 'file-read' });
  });

  it('keeps parsed documents by blob id across reopen', () => {
    const path = join(state, 'cache', 'parse-cache.sqlite');
    const c1 = new DiskParseCache<{ docs: number[] }>(path, { version: 'test-1' });
    c1.set('blob-a', { docs: [1, 2] });
    expect(c1.get('blob-a')).toEqual({ docs: [1, 2] });
    c1.close();
    const c2 = new DiskParseCache<{ docs: number[] }>(path, { version: 'test-1' });
    expect(c2.get('blob-a')).toEqual({ docs: [1, 2] });
    expect(c2.get('blob-b')).toBeUndefined();
    c2.close();
    const c3 = new DiskParseCache(path, { version: 'test-2' });
    expect(c3.get('blob-a')).toBeUndefined();
    c3.close();
  });

  it('keeps the latest load result by fingerprint, written when idle or on close', async () => {
    const path = join(state, 'cache2', 'parse-cache.sqlite');
    const result = { desired: { hosts: [{ name: 'n1' }], rendered: new Map([['n1', { specHash: 'abc' }]]) } };
    const c1 = new DiskParseCache<unknown, typeof result>(path, { version: 'test-1', resultDelayMs: 50 });
    c1.setResult('fp-1', result);
    expect(c1.getResult('fp-1')).toBe(result);
    await new Promise((r) => setTimeout(r, 200));
    const reader = new DiskParseCache<unknown, typeof result>(path, { version: 'test-1' });
    expect(reader.getResult('fp-1')).toEqual(result);
    reader.close();
    c1.setResult('fp-2', result);
    c1.close();
    const c2 = new DiskParseCache<unknown, typeof result>(path, { version: 'test-1' });
    expect(c2.getResult('fp-1')).toBeUndefined();
    expect(c2.getResult('fp-2')?.desired.rendered.get('n1')).toEqual({ specHash: 'abc' });
    c2.close();
    const other = new DiskParseCache<unknown, typeof result>(path, { version: 'test-2' });
    expect(other.getResult('fp-2')).toBeUndefined();
    other.close();
  });
});

describe('status branch (git http-backend)', () => {
  it('two sites writing at once both land, each in its own folder', async () => {
    createBareRepo(server.root, 'status.git');
    const w = work().write({ 'a.yaml': 'x: 1\n' });
    w.commit('init');
    await w.push(authedUrl('status.git'));
    const mk = async (site: string) => {
      const src = await GitSource.open({ url: server.url('status.git'), branch: 'main', cloneDir: join(state, `st-${site}.git`), auth: { token: TOKEN } });
      return new GitStatusWriter(src, { site });
    };
    const [a, b] = await Promise.all([mk('east'), mk('west')]);
    const rounds = 3;
    for (let i = 0; i < rounds; i++) {
      await Promise.all([
        a.write(new Map([['h1.yaml', `round: ${i}\n`], ['summary.md', `east ${i}\n`]]), `status: east round ${i}`),
        b.write(new Map([['h9.yaml', `round: ${i}\n`], ['summary.md', `west ${i}\n`]]), `status: west round ${i}`),
      ]);
    }
    const bare = join(server.root, 'status.git');
    const tree = gitCmd(bare, ['ls-tree', '-r', '--name-only', 'gough/status']).split('\n');
    expect(tree).toEqual(['status/east/h1.yaml', 'status/east/summary.md', 'status/west/h9.yaml', 'status/west/summary.md']);
    expect(gitCmd(bare, ['show', 'gough/status:status/east/summary.md'])).toBe(`east ${rounds - 1}`);
    expect(gitCmd(bare, ['show', 'gough/status:status/west/summary.md'])).toBe(`west ${rounds - 1}`);
    expect(Number(gitCmd(bare, ['rev-list', '--count', 'gough/status']))).toBe(2 * rounds);
    // The desired branch is untouched.
    expect(gitCmd(bare, ['ls-tree', '--name-only', 'main'])).toBe('a.yaml');
    // Writing the same files again makes no commit.
    const again = await a.write(new Map([['h1.yaml', `round: ${rounds - 1}\n`], ['summary.md', `east ${rounds - 1}\n`]]), 'same');
    expect(again.changed).toBe(false);
    expect(Number(gitCmd(bare, ['rev-list', '--count', 'gough/status']))).toBe(2 * rounds);
  });

  it('keeps status while the remote is down and pushes the newest when it is back', async () => {
    createBareRepo(server.root, 'down.git');
    const src = await GitSource.open({ url: server.url('down.git'), branch: 'main', cloneDir: join(state, 'down.git'), auth: { token: TOKEN } });
    const wr = new GitStatusWriter(src, { site: 'lab' });
    await wr.write(new Map([['h1.yaml', 'v: 1\n']]), 'first');
    await server.stop();
    try {
      await expect(wr.write(new Map([['h1.yaml', 'v: 2\n']]), 'second')).rejects.toMatchObject({ code: 'git-error' });
      await expect(wr.write(new Map([['h1.yaml', 'v: 3\n'], ['h2.yaml', 'v: 3\n']]), 'third')).rejects.toMatchObject({ code: 'git-error' });
      expect(wr.pending).toBe(true);
    } finally {
      await server.start();
    }
    const r = await wr.flush();
    expect(r?.changed).toBe(true);
    expect(wr.pending).toBe(false);
    const bare = join(server.root, 'down.git');
    expect(gitCmd(bare, ['show', 'gough/status:status/lab/h2.yaml'])).toBe('v: 3');
    expect(gitCmd(bare, ['log', '--format=%s', 'gough/status']).split('\n')).toEqual(['third', 'first']);
  });
});

describe('status writer, local repository', () => {
  it('keeps unchanged files and replaces changed ones across writes (the repository stays whole)', async () => {
    const w = work().write({ 'a.yaml': 'x: 1\n' });
    w.commit('init');
    const src = await GitSource.open({ path: w.dir, branch: 'main' });
    const wr = new GitStatusWriter(src, { site: 'lab' });
    const show = (f: string) => gitCmd(w.dir, ['show', `gough/status:status/lab/${f}`]);
    await wr.write(new Map([['a.yaml', 'v: 1\n'], ['b.yaml', 'v: 1\n']]), 'one');
    await wr.write(new Map([['a.yaml', 'v: 1\n'], ['b.yaml', 'v: 2\n'], ['c.yaml', 'v: 1\n']]), 'two');
    expect([show('a.yaml'), show('b.yaml'), show('c.yaml')]).toEqual(['v: 1', 'v: 2', 'v: 1']);
    await wr.write(new Map([['a.yaml', 'v: 3\n'], ['c.yaml', 'v: 1\n']]), 'three');
    expect(gitCmd(w.dir, ['ls-tree', '--name-only', 'gough/status', 'status/lab/']).split('\n')).toEqual(['status/lab/a.yaml', 'status/lab/c.yaml']);
    expect([show('a.yaml'), show('c.yaml')]).toEqual(['v: 3', 'v: 1']);
    // A fresh writer (a restarted daemon) writes the same content again without harm.
    const again = await new GitStatusWriter(src, { site: 'lab' }).write(new Map([['a.yaml', 'v: 3\n'], ['c.yaml', 'v: 1\n']]), 'same');
    expect(again.changed).toBe(false);
    expect(gitCmd(w.dir, ['fsck', '--full', '--strict'])).not.toMatch(/missing|broken|error/i);
  });
});

/** Commits a change to `a.yaml` at once (no await before it), then waits up to 3 s for the watch to report one. */
async function commitAndWait(w: WorkRepo, seen: readonly string[]): Promise<string> {
  w.write({ 'a.yaml': 'x: 2\n' });
  const commit = w.commit('change');
  const t0 = Date.now();
  while (seen.length === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
  return commit;
}

describe('branch watch', () => {
  it('sees a commit made the moment the watch is set up', async () => {
    const w = work().write({ 'a.yaml': 'x: 1\n' });
    w.commit('init');
    const seen: string[] = [];
    const t = await watchBranch(join(w.dir, '.git'), 'main', (c) => seen.push(c));
    try {
      // Synchronously, before chokidar's watches are all armed.
      const c2 = await commitAndWait(w, seen);
      expect(seen).toEqual([c2]);
    } finally {
      await t.close();
    }
  });

  it('fires on a commit to the watched branch and not on the status branch', async () => {
    const w = work().write({ 'a.yaml': 'x: 1\n' });
    w.commit('init');
    const seen: string[] = [];
    const t = await watchBranch(join(w.dir, '.git'), 'main', (c) => seen.push(c), { debounceMs: 20 });
    try {
      const src = await GitSource.open({ path: w.dir, branch: 'main' });
      await new GitStatusWriter(src, { site: 'lab' }).write(new Map([['h.yaml', 'x\n']]), 'status');
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual([]);
      const c2 = await commitAndWait(w, seen);
      expect(seen).toEqual([c2]);
    } finally {
      await t.close();
    }
  });
});
