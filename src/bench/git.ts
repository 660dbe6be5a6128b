/**
 * Loading a 10,000-host repository from Git objects: cold (empty parse cache) beside native `git cat-file --batch`
 * reading the same blobs, a warm restart (new process state, parse cache on disk; target ≤ 500 ms), and a re-load
 * after a one-file commit (target ≤ 50 ms).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DiskParseCache, GitSource } from '../git/index.js';
import { LoadMemo, type LoadResult, MAX_FILE_BYTES, type ParsedFile, loadRepo } from '../repo/index.js';
import { type Benchmark, measure, table } from './harness.js';
import { generateSyntheticRepo } from './synthetic.js';

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x.invalid', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x.invalid' };

export function gitSync(cwd: string, args: string[]): string {
  return execFileSync('git', ['-c', 'gc.auto=0', ...args], { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: 512 * 2 ** 20 }).trim();
}

export async function gitAsync(cwd: string, args: string[]): Promise<string> {
  return (await promisify(execFile)('git', ['-c', 'gc.auto=0', ...args], { cwd, env: GIT_ENV, encoding: 'utf8', maxBuffer: 512 * 2 ** 20 })).stdout.trim();
}

/** A synthetic repository of `hosts` hosts committed with native git (one commit, then `git gc` into a pack). */
export async function syntheticGitRepo(hosts: number, opts: { policies?: boolean } = {}): Promise<{ dir: string; hostFiles: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'gough-bench-git-'));
  await generateSyntheticRepo({ hosts, dir });
  if (opts.policies === false) rmSync(join(dir, 'policies'), { recursive: true, force: true });
  gitSync(dir, ['init', '-q', '--initial-branch=main']);
  gitSync(dir, ['add', '-A']);
  gitSync(dir, ['commit', '-q', '-m', 'synthetic fleet']);
  gitSync(dir, ['gc', '-q']);
  const hostFiles = gitSync(dir, ['ls-files', 'hosts']).split('\n');
  return { dir, hostFiles };
}

async function load(src: GitSource, commit: string, cache: DiskParseCache<ParsedFile, LoadResult>, memo: LoadMemo) {
  const r = await loadRepo(src.reader(commit, { maxBytes: MAX_FILE_BYTES }), { revision: commit, cache, memo });
  cache.flush();
  if (r.diagnostics.some((d) => d.severity === 'error')) throw new Error(`Synthetic repo has errors: ${r.diagnostics[0]?.message}`);
  return r;
}

export const benchmark: Benchmark = {
  name: 'git',
  title: 'Load a 10,000-host repository from Git objects (cold, warm restart, one-file commit)',
  async run(print) {
    const hosts = 10_000;
    const { dir, hostFiles } = await syntheticGitRepo(hosts);
    const state = mkdtempSync(join(tmpdir(), 'gough-bench-git-state-'));
    try {
      const rows: (string | number)[][] = [];
      const native = await measure(() =>
        promisify(execFile)('sh', ['-c', 'git ls-tree -r --format="%(objectname)" HEAD | git cat-file --batch | wc -c'], {
          cwd: dir,
          maxBuffer: 64 * 2 ** 20,
        }),
      );
      rows.push(['native `git ls-tree -r | git cat-file --batch` (all blobs)', native.ms, '—', '']);

      const cachePath = join(state, 'parse-cache.sqlite');
      const head = gitSync(dir, ['rev-parse', 'HEAD']);
      let cache = new DiskParseCache<ParsedFile, LoadResult>(cachePath, { version: 'bench' });
      let src = await GitSource.open({ path: dir, branch: 'main' });
      const trees = await measure(() => src.listFiles(head));
      rows.push([`walk every tree (${trees.value.length} files)`, trees.ms, trees.peakRssMiB, '']);
      src = await GitSource.open({ path: dir, branch: 'main' });
      const cold = await measure(() => load(src, head, cache, new LoadMemo()));
      rows.push([`cold load (${cold.value.desired.hosts.length} hosts, empty parse cache)`, cold.ms, cold.peakRssMiB, '']);
      cache.close();

      // Warm restart: new source (no tree cache), new memo, cache reopened from disk (the closed one wrote its result).
      cache = new DiskParseCache<ParsedFile, LoadResult>(cachePath, { version: 'bench' });
      src = await GitSource.open({ path: dir, branch: 'main' });
      let memo = new LoadMemo();
      const warm = await measure(() => load(src, head, cache, memo));
      rows.push(['warm restart, same revision (stored result)', warm.ms, warm.peakRssMiB, warm.ms <= 500 ? '≤ 500 ms ✓' : '≤ 500 ms ✗']);

      // One-file commit, same running source and memo.
      const f = hostFiles[Math.floor(hostFiles.length / 2)]!;
      const edit = (label: string) => {
        writeFileSync(join(dir, f), readFileSync(join(dir, f), 'utf8').replace(/labels:\n/, `labels:\n    bench-${label}: changed\n`));
        gitSync(dir, ['commit', '-q', '-am', `one host ${label}`]);
        return gitSync(dir, ['rev-parse', 'HEAD']);
      };
      // The first load after a restart renders every host once (the stored result has no per-host renders).
      const revA = edit('a');
      const first = await measure(() => load(src, revA, cache, memo));
      rows.push(['first new revision after the restart (renders every host)', first.ms, first.peakRssMiB, '']);
      // Median of 5 one-file commits (each committed before the clock starts).
      const ones: { ms: number; peakRssMiB: number }[] = [];
      for (let i = 0; i < 5; i++) {
        const rev = edit(`b${i}`);
        ones.push(await measure(() => load(src, rev, cache, memo)));
      }
      ones.sort((x, y) => x.ms - y.ms);
      const one = ones[2]!;
      rows.push(['re-load after a one-file commit', one.ms, one.peakRssMiB, one.ms <= 50 ? '≤ 50 ms ✓' : '≤ 50 ms ✗']);
      cache.close();

      // Restart on a revision with no stored result: parsed documents from disk, every host rendered.
      cache = new DiskParseCache<ParsedFile, LoadResult>(cachePath, { version: 'bench' });
      src = await GitSource.open({ path: dir, branch: 'main' });
      memo = new LoadMemo();
      const newRev = edit('c');
      const parsedOnly = await measure(() => load(src, newRev, cache, memo));
      rows.push(['restart on a new revision (parse cache only)', parsedOnly.ms, parsedOnly.peakRssMiB, '']);
      cache.close();
      for (const l of table(['operation (10,000 hosts)', 'ms', 'peak RSS MiB', 'target'], rows)) print(l);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(state, { recursive: true, force: true });
    }
  },
};
