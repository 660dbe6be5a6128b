/**
 * Triggers only make a pass happen sooner; none carries state the pass depends on.
 * - `watchBranch`: a local repository's refs, watched with chokidar; fires when the branch's commit
 *   changes — so commits to other branches (the status branch) never fire it.
 * - `cronTrigger`: a periodic pass on a cron schedule (node-cron).
 * - `pollTrigger`: a plain interval, the fallback for missed webhooks.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { GoughError } from '../model/index.js';

export type Trigger = { close(): Promise<void> };

export async function watchBranch(
  gitdir: string,
  branch: string,
  onChange: (commit: string) => void,
  opts: { debounceMs?: number } = {},
): Promise<Trigger> {
  // Git moves a ref by an atomic rename, so a read never sees half a ref: the ref is read at the next turn of the
  // event loop (0 ms), which coalesces the events of one update; a longer debounce would only add latency, since a
  // change fires only when the branch's commit differs and passes never overlap anyway.
  const debounceMs = opts.debounceMs ?? 0;
  const ref = `refs/heads/${branch}`;
  const read = async (): Promise<string | undefined> => {
    try {
      return await git.resolveRef({ fs, gitdir, ref });
    } catch {
      return undefined;
    }
  };
  let last = await read();
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      void read().then((now) => {
        if (now !== undefined && now !== last) {
          last = now;
          onChange(now);
        }
      });
    }, debounceMs);
  };
  // Loaded on use: most daemons (a remote repository) never watch, and start-up time matters after a crash.
  const { watch } = await import('chokidar');
  const watcher = watch([join(gitdir, 'refs', 'heads'), join(gitdir, 'packed-refs')], {
    ignoreInitial: true,
    persistent: false,
    depth: 20,
  });
  watcher.on('all', check);
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  // chokidar arms some of its inotify watches just after 'ready': a ref moved in that moment is caught by one more read.
  const settle = setTimeout(check, 50);
  settle.unref();
  return {
    async close() {
      clearTimeout(timer);
      clearTimeout(settle);
      await watcher.close();
    },
  };
}

export async function cronTrigger(expression: string, fire: () => void): Promise<Trigger> {
  const { default: cron } = await import('node-cron');
  if (!cron.validate(expression)) throw new GoughError('config-error', `Cannot schedule passes: "${expression}" is not a cron expression`);
  const task = cron.schedule(expression, () => fire(), { noOverlap: true });
  return {
    async close() {
      await task.stop();
      await task.destroy();
    },
  };
}

export function pollTrigger(intervalMs: number, fire: () => void): Trigger {
  const t = setInterval(fire, intervalMs);
  t.unref();
  return {
    async close() {
      clearInterval(t);
    },
  };
}
