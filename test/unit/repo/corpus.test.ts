/**
 * The bad-input corpus: each `test/fixtures/repo/bad/<case>/` is a small repo with one defect and an
 * `expect.json` naming the diagnostic it must produce (code, severity, file, line, col). The loader must report
 * exactly that one diagnostic — no cascade, no throw. Regenerate with `node test/fixtures/repo/generate-bad.mjs`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { hasErrors, loadDirectory } from '../../../src/repo/index.js';

const BAD = join(import.meta.dirname, '../../fixtures/repo/bad');
const GOOD = join(import.meta.dirname, '../../fixtures/repo/good');

type Expect = { code: string; severity: 'error' | 'warning'; file: string; line: number; col: number };
const cases = readdirSync(BAD).sort();

test('the corpus has at least 60 cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(60);
});

test('the good repo loads clean', async () => {
  const r = await loadDirectory(GOOD);
  expect(r.diagnostics).toEqual([]);
  expect(r.desired.hosts.map((h) => h.metadata.name)).toEqual(['node-1', 'node-2', 'node-3']);
  expect(r.desired.rendered.size).toBe(3);
  expect(r.files).toBe(7);
});

describe('bad repos report their defect at the right place', () => {
  test.each(cases)('%s', async (name) => {
    const want = JSON.parse(readFileSync(join(BAD, name, 'expect.json'), 'utf8')) as Expect;
    const r = await loadDirectory(join(BAD, name));
    const got = r.diagnostics.map(({ code, severity, file, line, col }) => ({ code, severity, file, line, col }));
    expect(got).toEqual([want]);
    expect(hasErrors(r.diagnostics)).toBe(want.severity === 'error');
    const d = r.diagnostics[0]!;
    expect(d.message).toMatch(/^[A-Z*"]/);
    expect(d.message).not.toMatch(/\.$/);
    expect(d.message).not.toMatch(/\n|at Object\.|node_modules/);
  });
});
