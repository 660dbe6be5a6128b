/**
 * parseEntries: reading and parsing a tree on several threads must give exactly what one thread gives — same
 * documents, diagnostics and positions, in list order — for every kind of file the loader meets (the whole
 * bad-input corpus: syntax errors, limits, binary and non-UTF-8 files, symlinks, schema errors). Worker threads
 * run the built module (`dist/`): from TypeScript sources there is no worker file and parsing stays on one thread.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { dirReader, type ParsedFile } from '../../../src/repo/index.js';
import { type ParseStats, parseEntries, parseOne } from '../../../src/repo/parse-pool.js';
import { ensureBuilt, ROOT } from '../lab/built-cli.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/repo');

/** Runs parseEntries from the built module in a fresh node process, with `opts`, over the fixture tree. */
function builtParse(opts: Record<string, unknown>): { files: ParsedFile[]; stats: ParseStats; paths: string[] } {
  const script = `
    const { dirReader } = await import(${JSON.stringify(join(ROOT, 'dist/repo/reader.js'))});
    const { parseEntries } = await import(${JSON.stringify(join(ROOT, 'dist/repo/parse-pool.js'))});
    const reader = dirReader(process.argv[1]);
    const list = await reader.list();
    const stats = {};
    const opts = JSON.parse(process.argv[2]);
    if (opts.abort) opts.signal = AbortSignal.abort();
    try {
      const files = await parseEntries(reader, list, { ...opts, stats });
      process.stdout.write(JSON.stringify({ files, stats, paths: list.map((e) => e.path) }));
    } catch (e) {
      process.stdout.write(JSON.stringify({ error: e.name }));
    }`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, FIXTURES, JSON.stringify(opts)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out) as { files: ParsedFile[]; stats: ParseStats; paths: string[] };
}

describe('parseEntries', () => {
  test('one thread: every file as parseOne reads it, in list order', async () => {
    const reader = dirReader(FIXTURES);
    const list = await reader.list();
    expect(list.length).toBeGreaterThan(300);
    const stats: ParseStats = { workers: -1, filesByWorkers: -1 };
    const files = await parseEntries(reader, list, { workers: 2, stats });
    // From sources there is no worker module: the work stays here.
    expect(stats).toEqual({ workers: 0, filesByWorkers: 0 });
    const one: ParsedFile[] = [];
    for (const e of list) one.push(await parseOne(reader, e.path));
    expect(files).toEqual(one);
    const codes = new Set(files.flatMap((f) => f.diagnostics.map((d) => d.code)));
    for (const code of ['file-read', 'yaml-syntax', 'yaml-limit', 'schema', 'literal-secret']) expect(codes).toContain(code);
  });

  describe('worker threads (built module)', () => {
    let alone: { files: ParsedFile[]; paths: string[] };
    beforeAll(() => {
      ensureBuilt();
      alone = builtParse({ workers: 0 });
    });

    test('workers alone parse every file exactly as one thread does', () => {
      const r = builtParse({ workers: 2, thisThread: false });
      expect(r.stats).toEqual({ workers: 2, filesByWorkers: alone.files.length });
      expect(r.paths).toEqual(alone.paths);
      expect(r.files).toEqual(alone.files);
    });

    test('shared with this thread, the result is the same', () => {
      const r = builtParse({ workers: 1 });
      expect(r.stats.workers).toBe(1);
      expect(r.files).toEqual(alone.files);
    });

    test('an aborted signal rejects', () => {
      expect(builtParse({ workers: 1, abort: true })).toEqual({ error: 'AbortError' });
    });
  });
});
