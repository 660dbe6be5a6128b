/** The built CLI for tests that run `gough` as a user does: rebuilt when dist/ is older than src/. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const BIN = join(ROOT, 'dist', 'cli', 'bin.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Runs `tsc -p tsconfig.build.json` unless dist/ is newer than every file of src/ (`npm test` builds first). */
export function ensureBuilt(): void {
  const stamp = join(ROOT, 'dist', 'cli', 'commands', 'lab.js');
  const fresh = (): boolean => existsSync(BIN) && existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(join(ROOT, 'src'));
  if (fresh()) return;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (e) {
    // tsc still emits when files elsewhere have type errors (work in progress); `npm test` fails on those in
    // its own build step. Here only a build that emitted nothing is fatal.
    if (fresh()) return;
    const out = e as { stdout?: string; stderr?: string };
    throw new Error(`Cannot build the CLI (tsc -p tsconfig.build.json):\n${out.stdout ?? ''}${out.stderr ?? ''}`);
  }
}
