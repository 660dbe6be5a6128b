/**
 * Hostile input, generated at run time (nothing this big is committed): every case must end in a diagnostic,
 * never a throw, a hang or unbounded memory.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Diagnostic } from '../../../src/model/index.js';
import { hasErrors, loadDirectory, loadRepo, MAX_FILE_BYTES, parseFile } from '../../../src/repo/index.js';

let root: string;
let rssBefore: number;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gough-hostile-'));
  rssBefore = process.memoryUsage.rss();
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  // Bounded memory: the whole suite (including a 50 MB file) must not balloon the process.
  expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(512 * 2 ** 20);
});

/** A repo directory holding one file. */
function repoWith(name: string, file: string, content: string | Uint8Array): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'hosts'), { recursive: true });
  writeFileSync(join(dir, file), content);
  return dir;
}

function only(d: Diagnostic[]): Pick<Diagnostic, 'file' | 'code' | 'line'> {
  expect(d).toHaveLength(1);
  const { file, code, line } = d[0]!;
  return { file, code, line };
}

describe('hostile files produce one diagnostic each', () => {
  test('a 50 MB file is refused without being parsed (yaml-limit, says the limit)', async () => {
    const line = 'key: value value value value value value value value value value\n';
    const big = Buffer.alloc(50 * 2 ** 20, line);
    const dir = repoWith('big', 'hosts/big.yaml', big);
    const r = await loadDirectory(dir);
    expect(only(r.diagnostics)).toEqual({ file: 'hosts/big.yaml', code: 'yaml-limit', line: 1 });
    expect(r.diagnostics[0]!.message).toBe(
      'File is 50 MiB, larger than the limit of 16 MiB: split it into smaller files',
    );
    expect(hasErrors(r.diagnostics)).toBe(true);
    // The same limit holds for readers that hand over bytes (a Git tree).
    const pf = parseFile(new Uint8Array(MAX_FILE_BYTES + 1));
    expect(pf.diagnostics.map((d) => d.code)).toEqual(['yaml-limit']);
  });

  test('100,000 nested flow sequences', async () => {
    const dir = repoWith('deep-flow', 'hosts/deep.yaml', `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    const r = await loadDirectory(dir);
    expect(only(r.diagnostics)).toEqual({ file: 'hosts/deep.yaml', code: 'yaml-limit', line: 1 });
    expect(r.diagnostics[0]!.message).toContain('64 levels');
  });

  test('100,000 nested flow mappings without closing braces', async () => {
    const dir = repoWith('deep-map', 'hosts/deep.yaml', `a: ${'{a: '.repeat(100_000)}\n`);
    const r = await loadDirectory(dir);
    expect(only(r.diagnostics)).toEqual({ file: 'hosts/deep.yaml', code: 'yaml-limit', line: 1 });
  });

  test('10,000 levels of block nesting', async () => {
    const text = Array.from({ length: 10_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n');
    const dir = repoWith('deep-block', 'hosts/deep.yaml', `${text} x\n`);
    const r = await loadDirectory(dir);
    expect(only(r.diagnostics).code).toBe('yaml-limit');
  });

  test('a billion laughs (10 levels of 10 aliases)', async () => {
    const lines = ['l0: &l0 "lol"'];
    for (let i = 1; i <= 10; i++)
      lines.push(
        `l${i}: &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const dir = repoWith('laughs', 'hosts/laughs.yaml', `${lines.join('\n')}\n`);
    const r = await loadDirectory(dir);
    expect(only(r.diagnostics)).toEqual({ file: 'hosts/laughs.yaml', code: 'yaml-limit', line: 1 });
    expect(r.diagnostics[0]!.message).toContain('at most 100 alias expansions');
  });

  test('1 MB of random binary junk', async () => {
    const junk = new Uint8Array(2 ** 20);
    let x = 12345;
    for (let i = 0; i < junk.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      junk[i] = x >>> 24;
    }
    junk[100] = 0;
    const dir = repoWith('junk', 'hosts/junk.yaml', junk);
    const r = await loadDirectory(dir);
    expect(only(r.diagnostics).code).toBe('file-read');
  });

  test('non-UTF-8 text (Latin-1, UTF-16)', async () => {
    const dir = repoWith('latin1', 'hosts/a.yaml', Buffer.from('name: caf\xe9\n', 'latin1'));
    writeFileSync(join(dir, 'hosts/b.yaml'), Buffer.from('\ufeffname: x\n', 'utf16le'));
    const r = await loadDirectory(dir);
    expect(r.diagnostics.map((d) => [d.file, d.code])).toEqual([
      ['hosts/a.yaml', 'file-read'],
      ['hosts/b.yaml', 'file-read'],
    ]);
  });

  test('symlinks are never followed: files report, directories are not entered', async () => {
    const outside = join(root, 'outside');
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, 'secret.yaml'), 'apiVersion: gough.dev/v1\nkind: Unknown\n');
    const dir = join(root, 'links');
    mkdirSync(join(dir, 'hosts'), { recursive: true });
    symlinkSync('/etc/passwd', join(dir, 'hosts/passwd.yaml'));
    symlinkSync(join(outside, 'secret.yaml'), join(dir, 'hosts/secret.yaml'));
    symlinkSync(outside, join(dir, 'linked-dir'));
    const r = await loadDirectory(dir);
    expect(r.diagnostics.map((d) => [d.file, d.line, d.code, d.message])).toEqual([
      ['hosts/passwd.yaml', 1, 'file-read', 'File is a symlink: Gough never follows symlinks, commit the file itself'],
      ['hosts/secret.yaml', 1, 'file-read', 'File is a symlink: Gough never follows symlinks, commit the file itself'],
    ]);
  });

  test('a reader cannot be talked into paths outside the root', async () => {
    const reader = {
      list: async () => [{ path: '../outside/secret.yaml' }, { path: 'hosts/ok.yaml' }],
      read: async (p: string) => {
        if (p !== 'hosts/ok.yaml') throw new Error(`read ${p}`);
        return new TextEncoder().encode('');
      },
    };
    // dirReader refuses `..`; loadRepo skips such paths like every other dot-segment path (never reads them).
    const { dirReader } = await import('../../../src/repo/index.js');
    await expect(dirReader(root).read('../etc/passwd')).rejects.toMatchObject({ code: 'file-read' });
    const r = await loadRepo(reader, { revision: 'test' });
    expect(r.diagnostics).toEqual([]);
    expect(r.files).toBe(1);
  });

  test('a FIFO named like YAML is not opened (no hang)', async () => {
    const dir = repoWith('fifo', 'hosts/ok.yaml', '');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [join(dir, 'hosts/pipe.yaml')]);
    const r = await loadDirectory(dir);
    expect(r.diagnostics).toEqual([]);
    expect(r.files).toBe(1);
  });
});
