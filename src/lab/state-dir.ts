/**
 * Where `gough lab` keeps its files: the lab Git repository, the journal, parse cache, and the PR-comment
 * Markdown per revision. `--state-dir` wins, then `$XDG_STATE_HOME/gough/lab`, then `.state/lab` under the
 * working directory.
 */
import { isAbsolute, join, resolve } from 'node:path';

export type LabPaths = {
  root: string;
  /** The lab's Git repository (a copy of example-repo). */
  repo: string;
  /** SQLite journal of actions. */
  journal: string;
  /** Parse cache keyed by blob id, and other daemon scratch files. */
  cache: string;
  /** `comments/<revision>.md`: the PR-comment text for each revision the daemon planned. */
  comments: string;
  /** Emulator URL and API key of the running lab (removed on exit). */
  emulatorFile: string;
};

export function resolveStateDir(opts: { stateDir?: string | undefined; env: NodeJS.ProcessEnv; cwd: string }): string {
  if (opts.stateDir !== undefined && opts.stateDir !== '') return resolve(opts.cwd, opts.stateDir);
  const xdg = opts.env.XDG_STATE_HOME;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, 'gough', 'lab');
  return resolve(opts.cwd, '.state', 'lab');
}

export function labPaths(root: string): LabPaths {
  return {
    root,
    repo: join(root, 'repo'),
    journal: join(root, 'journal.sqlite'),
    cache: join(root, 'cache'),
    comments: join(root, 'comments'),
    emulatorFile: join(root, 'emulator.json'),
  };
}
