/**
 * `gough validate` as a user runs it: the BUILT CLI (dist/cli/bin.js) on the good repo and on a sample of the
 * bad-input corpus, in every output format. Rebuilds dist/ first when it is older than the sources it runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'dist/cli/bin.js');
const BAD = 'test/fixtures/repo/bad';
const GOOD = 'test/fixtures/repo/good';

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

beforeAll(() => {
  const built =
    existsSync(BIN) && existsSync(join(ROOT, 'dist/repo/index.js'))
      ? statSync(join(ROOT, 'dist/repo/index.js')).mtimeMs
      : 0;
  const sources = Math.max(
    newestMtime(join(ROOT, 'src/repo')),
    newestMtime(join(ROOT, 'src/cli')),
    newestMtime(join(ROOT, 'src/render')),
  );
  if (built < sources) {
    try {
      execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
    } catch {
      // Type errors elsewhere in the tree still emit JavaScript; the run below shows whether the CLI works.
    }
  }
  expect(existsSync(BIN)).toBe(true);
});

function gough(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

type Expect = { code: string; severity: string; file: string; line: number; col: number };
const expectOf = (c: string): Expect => JSON.parse(readFileSync(join(ROOT, BAD, c, 'expect.json'), 'utf8')) as Expect;

const SAMPLE = [
  'yaml-duplicate-key',
  'limit-alias-bomb',
  'binary-nul',
  'symlink-outside',
  'host-unknown-property',
  'duplicate-mac',
  'literal-secret-url',
  'template-var-missing',
];

describe('gough validate (built CLI)', () => {
  test('a clean repo: exit 0 and a one-line summary', () => {
    const r = gough('validate', GOOD);
    expect(r).toEqual({ code: 0, stdout: `${GOOD}: 7 files, 3 hosts, no problems\n`, stderr: '' });
  });

  test.each(SAMPLE)('%s: exit 1, the defect at its place', (c) => {
    const e = expectOf(c);
    const dir = `${BAD}/${c}`;
    const r = gough('validate', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${escapeRe(`${dir}/${e.file}:${e.line}:${e.col}: error[${e.code}]: `)}\\S`));
    expect(lines[1]).toMatch(/^1 error, 0 warnings in \d+ files$/);
    expect(r.stdout).not.toMatch(/\n\s+at |Error:/);
  });

  test('a warning alone exits 0', () => {
    const r = gough('validate', `${BAD}/selector-matches-nothing`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning\[selector-matches-nothing\]: Policy "workers" selects no host/);
    expect(r.stdout).toMatch(/0 errors, 1 warning in 4 files\n$/);
  });

  test('--format json: files relative to DIR, 1-based positions', () => {
    const r = gough('validate', '--format', 'json', `${BAD}/duplicate-ip`);
    expect(r.code).toBe(1);
    const e = expectOf('duplicate-ip');
    expect(JSON.parse(r.stdout)).toEqual({
      diagnostics: [
        {
          file: e.file,
          line: e.line,
          col: e.col,
          severity: 'error',
          code: 'duplicate-ip',
          message: 'IP address "10.20.0.11" is already used by host "node-1" (hosts/node-1.yaml:4:9)',
        },
      ],
    });
    expect(JSON.parse(gough('validate', GOOD, '--format=json').stdout)).toEqual({ diagnostics: [] });
  });

  test('--format github: workflow annotations', () => {
    const r = gough('validate', '--format', 'github', `${BAD}/unknown-template`);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(
      `::error file=${BAD}/hosts/node-1.yaml,line=18,col=13,title=gough validate (unknown-template)::Host "node-1" names template "bsae", which is not defined (known: base)`.replace(
        `${BAD}/hosts`,
        `${BAD}/unknown-template/hosts`,
      ),
    );
  });

  test('usage and IO errors exit 2 with a one-line reason', () => {
    expect(gough('validate', 'no/such/dir')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'gough validate: Cannot read directory "no/such/dir": it does not exist\n',
    });
    const bad = gough('validate', '--format', 'xml', GOOD);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('gough validate: unknown format "xml": expected text, json or github\n');
    expect(gough('validate', '--frobnicate').code).toBe(2);
    expect(gough('validate', 'a', 'b').code).toBe(2);
  });

  test('--help', () => {
    const r = gough('validate', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: gough validate \[DIR\] \[--format text\|json\|github\]/);
    expect(r.stdout).toContain('Exit status:');
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
