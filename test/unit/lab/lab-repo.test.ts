import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureLabRepo, writeGeneratedHosts } from '../../../src/lab/lab-repo.js';
import { labPaths, resolveStateDir } from '../../../src/lab/state-dir.js';

const tmp = mkdtempSync(join(tmpdir(), 'gough-lab-repo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const gitOut = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('lab repository (git)', () => {
  it('copies the example repo into a new Git repo, keeps it on the next run, and rewrites generated hosts', async () => {
    const src = join(tmp, 'example');
    mkdirSync(join(src, 'hosts'), { recursive: true });
    mkdirSync(join(src, '.git'));
    writeFileSync(join(src, '.git', 'HEAD'), 'not copied');
    writeFileSync(join(src, 'sites.yaml'), 'kind: Site\n');
    writeFileSync(join(src, 'hosts', 'a.yaml'), 'kind: Host\n');
    const dir = join(tmp, 'state', 'repo');

    const first = await ensureLabRepo({ source: src, dir });
    expect(first.created).toBe(true);
    expect(gitOut(dir, 'ls-files').split('\n')).toEqual(['hosts/a.yaml', 'sites.yaml']);
    expect(gitOut(dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(gitOut(dir, 'status', '--porcelain')).toBe('');
    expect(first.head).toBe(gitOut(dir, 'rev-parse', 'HEAD'));

    writeFileSync(join(dir, 'hosts', 'a.yaml'), 'kind: Host # edited\n');
    const second = await ensureLabRepo({ source: src, dir });
    expect(second.created).toBe(false);

    const gen = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ path: `hosts/lab-generated/lab-${i}.yaml`, name: `lab-${i}`, text: `n: ${i}\n` }));
    const h1 = await writeGeneratedHosts(dir, gen(3));
    expect(h1).not.toBe(first.head);
    expect(readdirSync(join(dir, 'hosts', 'lab-generated'))).toHaveLength(3);
    // the user's uncommitted edit is not swept into the lab's commit
    expect(gitOut(dir, 'status', '--porcelain')).toBe('M hosts/a.yaml');
    expect(await writeGeneratedHosts(dir, gen(3))).toBe(h1);
    await writeGeneratedHosts(dir, gen(1));
    expect(gitOut(dir, 'ls-files', 'hosts/lab-generated')).toBe('hosts/lab-generated/lab-0.yaml');
    expect(gitOut(dir, 'log', '--format=%s', '-1')).toBe('Lab: 1 generated hosts');
  });

  it('fails with a clear error when the example repo is missing', async () => {
    await expect(ensureLabRepo({ source: join(tmp, 'nope'), dir: join(tmp, 'x') })).rejects.toThrow(/example repository ".*nope" does not exist/);
  });
});

describe('state directory', () => {
  it('prefers --state-dir, then XDG_STATE_HOME, then .state/lab', () => {
    expect(resolveStateDir({ stateDir: 'tmp/s', env: { XDG_STATE_HOME: '/x' }, cwd: '/w' })).toBe('/w/tmp/s');
    expect(resolveStateDir({ env: { XDG_STATE_HOME: '/x' }, cwd: '/w' })).toBe('/x/gough/lab');
    expect(resolveStateDir({ env: { XDG_STATE_HOME: 'relative' }, cwd: '/w' })).toBe('/w/.state/lab');
    expect(resolveStateDir({ env: {}, cwd: '/w' })).toBe('/w/.state/lab');
    expect(labPaths('/s').comments).toBe('/s/comments');
  });
});
