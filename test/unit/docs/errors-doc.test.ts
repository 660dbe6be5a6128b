/** docs/errors.md lists every code of ERROR_CODES, once, and no other. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ERROR_CODES } from '../../../src/model/index.js';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
const rows = [...doc.matchAll(/^\| `([^`]+)` \|(.*)\|(.*)\|\s*$/gm)];
const documented = rows.map((m) => m[1]!);

test('every code in ERROR_CODES has a row in docs/errors.md', () => {
  const missing = Object.keys(ERROR_CODES).filter((c) => !documented.includes(c));
  expect(missing, 'add a row per code to docs/errors.md').toEqual([]);
});

test('docs/errors.md names no unknown code and no code twice', () => {
  expect(documented.filter((c) => !(c in ERROR_CODES))).toEqual([]);
  expect(documented.filter((c, i) => documented.indexOf(c) !== i)).toEqual([]);
});

test('each row says what the code means and what to do', () => {
  for (const m of rows) {
    expect(m[2]!.trim().length, m[1]).toBeGreaterThan(10);
    expect(m[3]!.trim().length, m[1]).toBeGreaterThan(3);
  }
});
