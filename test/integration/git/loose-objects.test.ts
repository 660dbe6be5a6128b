/** Loose blobs written by Gough (src/git/loose-objects.ts) are git's own: same ids, readable and whole (real git). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLooseBlobs } from '../../../src/git/loose-objects.js';

const dir = mkdtempSync(join(tmpdir(), 'gough-loose-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const git = (args: string[], input?: Uint8Array) => execFileSync('git', args, { cwd: dir, input, encoding: 'utf8' }).trim();

describe('loose blobs', () => {
  it('have the ids git gives them, read back byte for byte, and pass fsck', async () => {
    git(['init', '-q', '--bare']);
    const enc = new TextEncoder();
    const contents = [enc.encode(''), enc.encode('host: a\n'), enc.encode('host: a\n'), enc.encode('ünïcode ✓\n'), new Uint8Array(70_000).fill(7)];
    const ids = await writeLooseBlobs(dir, contents);
    expect(ids).toEqual(contents.map((c) => git(['hash-object', '--stdin'], c)));
    expect(ids[1]).toBe(ids[2]);
    for (let i = 0; i < contents.length; i++) {
      expect(git(['cat-file', '-t', ids[i]!])).toBe('blob');
      expect(execFileSync('git', ['cat-file', 'blob', ids[i]!], { cwd: dir })).toEqual(Buffer.from(contents[i]!));
    }
    // Writing them again is harmless (present objects are left as they are).
    expect(await writeLooseBlobs(dir, contents)).toEqual(ids);
    git(['fsck', '--full', '--strict']);
  });
});
