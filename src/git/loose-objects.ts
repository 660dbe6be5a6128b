/**
 * Writing many small blobs as loose objects, straight to `<gitdir>/objects` with Node's own SHA-1 and zlib: the
 * status writer stores one file per host, and a new desired revision changes all of them (10,000 blobs). Through
 * isomorphic-git's `writeBlob` that took about 10 s of the daemon's thread; here it is a fraction of a second, and
 * the work yields to the event loop between batches (a few milliseconds each) so passes and webhooks are not held up.
 *
 * The format is git's: the zlib-deflated bytes of `blob <size>\0<content>`, named by the SHA-1 of those bytes,
 * written to a temporary file and renamed into place (so a reader never sees half an object).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { deflateSync } from 'node:zlib';

/** Blobs hashed and deflated between two turns of the event loop. */
const BATCH = 256;

/** The object id git gives `content` as a blob. */
export function blobId(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** Writes each content as a loose blob (skipping those already present); returns their ids, in order. */
export async function writeLooseBlobs(gitdir: string, contents: readonly Uint8Array[]): Promise<string[]> {
  const objects = join(gitdir, 'objects');
  const ids: string[] = [];
  const dirs = new Set<string>();
  /** Ids written (or found) by this call: two equal contents are written once. */
  const seen = new Set<string>();
  const tag = randomBytes(4).toString('hex');
  for (let from = 0; from < contents.length; from += BATCH) {
    // Synchronous file calls in small batches: a loose object is a few hundred bytes, and four promise round trips
    // per object cost more than the writes; between batches the event loop runs.
    if (from > 0) await yieldToLoop();
    for (const content of contents.slice(from, from + BATCH)) {
      const id = blobId(content);
      ids.push(id);
      if (seen.has(id)) continue;
      seen.add(id);
      const dir = join(objects, id.slice(0, 2));
      const file = join(dir, id.slice(2));
      if (!dirs.has(dir)) {
        mkdirSync(dir, { recursive: true });
        dirs.add(dir);
      }
      if (existsSync(file)) continue;
      const tmp = `${file}.${tag}.tmp`;
      writeFileSync(tmp, deflateSync(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content])), { mode: 0o444 });
      renameSync(tmp, file);
    }
  }
  return ids;
}
