/** docs/repository-format.md stays true: every schema field is in its reference, and its example validates clean. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { loadRepo, SCHEMA_FILES, schemaOf } from '../../../src/repo/index.js';

const doc = readFileSync(join(import.meta.dirname, '../../../docs/repository-format.md'), 'utf8');

type S = Record<string, unknown>;

function fieldPaths(root: S): string[] {
  const out: string[] = [];
  const walk = (s: S, path: string): void => {
    if (typeof s.$ref === 'string' && !s.$ref.endsWith('secretRef'))
      s = (root.$defs as Record<string, S>)[s.$ref.split('/').pop()!]!;
    if (path) out.push(path);
    for (const [k, v] of Object.entries((s.properties as Record<string, S>) ?? {})) walk(v, path ? `${path}.${k}` : k);
    const items = s.items as S | undefined;
    if (items?.properties) walk(items, `${path}[]`);
    const ap = s.additionalProperties as S | boolean | undefined;
    if (typeof ap === 'object' && ap.properties) walk(ap, `${path}.*`);
  };
  walk(root, '');
  return out;
}

test.each(Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[])('%s fields are all in the reference', (kind) => {
  const section = doc.slice(doc.indexOf(`### ${kind}\n`));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| field |')));
  const missing = fieldPaths(schemaOf(kind)).filter((p) => !table.includes(`| \`${p}\` |`));
  expect(missing).toEqual([]);
});

test('the example validates clean', async () => {
  const ex = doc.slice(doc.indexOf('## Examples'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(ex)![1]!;
  const r = await loadRepo(
    { list: async () => [{ path: 'all.yaml' }], read: async () => new TextEncoder().encode(yaml) },
    { revision: 'doc' },
  );
  expect(r.diagnostics).toEqual([]);
  expect(r.desired.rendered.get('edge-01')?.userData).toContain('edge-01 in r1');
});
