/**
 * The lab's local Git repository: a copy of `example-repo` under the state directory, committed on `main`,
 * that the daemon watches and the user edits. Uses the native `git` CLI (a local repo set-up, not the
 * daemon's read path, which goes through `src/git`).
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GoughError } from '../model/index.js';
import type { GeneratedHostFile } from './fleet.js';
import { GENERATED_HOSTS_DIR } from './fleet.js';

export const LAB_BRANCH = 'main';
const IDENTITY = ['-c', 'user.name=gough lab', '-c', 'user.email=lab@gough.invalid'];

export type GitRunOptions = { signal?: AbortSignal; env?: NodeJS.ProcessEnv };

/** Runs `git` in `cwd`; resolves stdout, rejects with a `git-error` naming the sub-command. */
export function git(cwd: string, args: string[], opts: GitRunOptions = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      'git',
      args,
      {
        cwd,
        ...(opts.signal ? { signal: opts.signal } : {}),
        env: { ...process.env, ...opts.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) {
          const detail = String(stderr).trim().split('\n').pop() ?? err.message;
          reject(new GoughError('git-error', `Cannot run "git ${args[0] ?? ''}" in "${cwd}": ${detail}`, { cause: err }));
          return;
        }
        resolvePromise(String(stdout));
      },
    );
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export type LabRepo = {
  dir: string;
  /** True when this call created the repository (first run or after `--reset`). */
  created: boolean;
  head: string;
};

export type EnsureLabRepoOptions = {
  /** The example repository to copy. */
  source: string;
  /** Where the lab repository lives. */
  dir: string;
  signal?: AbortSignal;
};

/**
 * Creates the lab repository from `source` unless it already exists (a previous run's edits are kept).
 * The copy leaves out any `.git` folder and `status/` files of the source.
 */
export async function ensureLabRepo(opts: EnsureLabRepoOptions): Promise<LabRepo> {
  const dir = resolve(opts.dir);
  const callOpts = opts.signal ? { signal: opts.signal } : {};
  if (await exists(join(dir, '.git'))) {
    const head = (await git(dir, ['rev-parse', 'HEAD'], callOpts)).trim();
    return { dir, created: false, head };
  }
  if (!(await exists(opts.source))) {
    throw new GoughError('config-error', `Cannot create the lab repository: example repository "${opts.source}" does not exist`);
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const entries = await readdir(opts.source);
  for (const e of entries) {
    if (e === '.git' || e === 'node_modules') continue;
    await cp(join(opts.source, e), join(dir, e), { recursive: true, verbatimSymlinks: true });
  }
  await git(dir, ['init', '-q', '-b', LAB_BRANCH], callOpts);
  await git(dir, ['add', '-A'], callOpts);
  await git(dir, [...IDENTITY, 'commit', '-q', '--no-gpg-sign', '-m', 'Import the example repository into the lab'], callOpts);
  const head = (await git(dir, ['rev-parse', 'HEAD'], callOpts)).trim();
  return { dir, created: true, head };
}

/**
 * Replaces the generated hosts in the lab repository with `files` and commits when something changed.
 * Resolves the new HEAD.
 */
export async function writeGeneratedHosts(dir: string, files: readonly GeneratedHostFile[], opts: GitRunOptions = {}): Promise<string> {
  const genDir = join(dir, GENERATED_HOSTS_DIR);
  await rm(genDir, { recursive: true, force: true });
  if (files.length > 0) {
    await mkdir(genDir, { recursive: true });
    for (const f of files) await writeFile(join(dir, f.path), f.text);
  }
  await git(dir, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', GENERATED_HOSTS_DIR], opts);
  if (files.length > 0) await git(dir, ['add', '--', GENERATED_HOSTS_DIR], opts);
  const changed = (await git(dir, ['diff', '--cached', '--name-only', '--', GENERATED_HOSTS_DIR], opts)).trim() !== '';
  if (changed) {
    const msg = files.length > 0 ? `Lab: ${files.length} generated hosts` : 'Lab: remove generated hosts';
    await git(dir, [...IDENTITY, 'commit', '-q', '--no-gpg-sign', '-m', msg, '--', GENERATED_HOSTS_DIR], opts);
  }
  return (await git(dir, ['rev-parse', 'HEAD'], opts)).trim();
}

/** Commits every change in the lab repository as the lab (tests and the lab's own edits). */
export async function commitAll(dir: string, message: string, opts: GitRunOptions = {}): Promise<string> {
  await git(dir, ['add', '-A'], opts);
  await git(dir, [...IDENTITY, 'commit', '-q', '--no-gpg-sign', '--allow-empty', '-m', message], opts);
  return (await git(dir, ['rev-parse', 'HEAD'], opts)).trim();
}
