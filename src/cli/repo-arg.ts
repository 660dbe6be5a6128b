/** The config repository named on a command line: loaded from DIR, with errors that name DIR as the user typed it. */
import { isGoughError } from '../model/index.js';
import { type LoadResult, loadDirectory } from '../repo/index.js';
import type { CliIo } from './command.js';

/**
 * Loads `dir` (relative to the working directory). When it cannot be read, writes `gough COMMAND: message` to
 * standard error and returns undefined; `verb` names the attempt in other failures ("Cannot VERB "dir"").
 */
export async function loadRepoArg(io: CliIo, command: string, dir: string, verb: string): Promise<LoadResult | undefined> {
  const root = dir.startsWith('/') ? dir : `${io.cwd}/${dir}`;
  try {
    return await loadDirectory(root);
  } catch (e) {
    const msg = isGoughError(e)
      ? e.message.replace(root, dir)
      : `Cannot ${verb} "${dir}": ${e instanceof Error ? e.message : String(e)}`;
    io.stderr.write(`gough ${command}: ${msg}\n`);
    return undefined;
  }
}
