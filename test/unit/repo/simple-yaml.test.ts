/**
 * The loader's fast YAML reader must agree with the `yaml` package (the exact path) on every input it accepts,
 * and must refuse every input `yaml` rejects. Property-tested on random documents written in many styles.
 */
import fc from 'fast-check';
import { LineCounter, parseAllDocuments } from 'yaml';
import { describe, expect, test } from 'vitest';
import { syntheticHost, syntheticPolicy, syntheticSite } from '../../../src/bench/synthetic.js';
import { parseSimpleYaml } from '../../../src/repo/simple-yaml.js';

const TRICKY = [
  'on',
  'off',
  'yes',
  'no',
  'null',
  'Null',
  'NULL',
  '~',
  '',
  'true',
  'True',
  'TRUE',
  'false',
  'tRUE',
  '1',
  '0123',
  '-1',
  '+2',
  '1e3',
  '1.5',
  '.5',
  '1.',
  '0o17',
  '0x1F',
  '.inf',
  '-.inf',
  '.nan',
  '2024-01-01',
  '12:30',
  'a b',
  'a: b',
  'a:b',
  '#x',
  'x #y',
  'x#y',
  '[x]',
  'x]',
  '{a}',
  '"q"',
  "it's",
  ' lead',
  'trail ',
  'a\\b',
  'a\\nb',
  '- x',
  '-x',
  '?',
  ':',
  'a,b',
  '*x',
  '&x',
  '!x',
  '|',
  '>',
  '%x',
  '@x',
  '`x`',
  '123456789012345678',
  '1_000',
  '=',
  '<<',
  'ubuntu',
  'node-1',
  '52:54:00:00:00:01',
  '10.0.0.1/24',
  '0 2 * * *',
  '{{ vars.rack }}',
  'k8s-worker',
];
const KEYS = ['a', 'b', 'name', 'metadata', 'spec', 'k-1', 'x.y/z', '_p', '1', 'a b', '"q"', 'on', '<<'];

type V = null | boolean | number | string | V[] | { [k: string]: V };

const value: fc.Arbitrary<V> = fc.letrec<{ node: V; scalar: V; map: V; seq: V }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('scalar'), tie('map'), tie('seq')),
  scalar: fc.oneof(fc.constantFrom(...TRICKY), fc.integer({ min: -1000, max: 1000 }), fc.boolean(), fc.constant(null)),
  map: fc.dictionary(fc.constantFrom(...KEYS), tie('node'), { maxKeys: 4 }),
  seq: fc.array(tie('node'), { maxLength: 4 }),
})).node;

/** Writes a value as YAML text in styles chosen by `pick` — deliberately sometimes invalid. */
function emit(v: V, pick: () => number): string {
  const scalar = (x: V): string => {
    if (typeof x !== 'string') return String(x);
    switch (pick() % 4) {
      case 0:
        return `"${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
      case 1:
        return `'${x.replace(/'/g, "''")}'`;
      case 2:
        return `${x} # note`;
      default:
        return x;
    }
  };
  const isScalar = (x: V): boolean => x === null || typeof x !== 'object';
  const flow = (x: V): string | undefined => {
    if (Array.isArray(x) && x.every(isScalar)) return `[${x.map((i) => scalar(i).replace(/ # note$/, '')).join(', ')}]`;
    if (x && typeof x === 'object' && !Array.isArray(x) && Object.values(x).every(isScalar)) {
      return `{ ${Object.entries(x)
        .map(([k, i]) => `${k}: ${scalar(i).replace(/ # note$/, '')}`)
        .join(', ')} }`;
    }
    return undefined;
  };
  const block = (x: V, ind: number): string[] => {
    const pad = ' '.repeat(ind);
    if (Array.isArray(x)) {
      if (x.length === 0) return [`${pad}[]`];
      return x.flatMap((item) => {
        if (isScalar(item)) return [`${pad}- ${scalar(item)}`];
        const f = pick() % 3 === 0 ? flow(item) : undefined;
        if (f) return [`${pad}- ${f}`];
        const inner = block(item, ind + 2);
        return [`${pad}- ${inner[0]!.trimStart()}`, ...inner.slice(1)];
      });
    }
    if (x && typeof x === 'object') {
      if (Object.keys(x).length === 0) return [`${pad}{}`];
      return Object.entries(x).flatMap(([k, item]) => {
        if (isScalar(item)) return [`${pad}${k}: ${scalar(item)}`];
        const f = pick() % 3 === 0 ? flow(item) : undefined;
        if (f) return [`${pad}${k}: ${f}`];
        const sameIndent = Array.isArray(item) && pick() % 2 === 0;
        return [
          `${pad}${k}:`,
          ...(pick() % 5 === 0 ? [`${pad}  # comment`] : []),
          ...block(item, sameIndent ? ind : ind + 2),
        ];
      });
    }
    return [`${pad}${scalar(x)}`];
  };
  return `${block(v, 0).join('\n')}\n`;
}

type YDoc = {
  errors: unknown[];
  toJS(): unknown;
  getIn(p: string[], keepScalar: boolean): { range?: number[] } | undefined;
};

/** How deeply collections nest in a value (a scalar: 0). */
function nesting(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  return 1 + Math.max(0, ...Object.values(v).map(nesting));
}

/** The loader skips empty (null) documents on both paths, so they are left out of the comparison. */
function compareWithYaml(text: string): boolean {
  const lc = new LineCounter();
  const docs = [...(parseAllDocuments(text, { lineCounter: lc }) as unknown as YDoc[])];
  const simple = parseSimpleYaml(text);
  if (docs.some((d) => d.errors.length > 0)) {
    expect(simple, `accepted invalid YAML:\n${text}`).toBeUndefined();
    return false;
  }
  if (simple === undefined) return false;
  const full = docs.map((d) => ({ d, js: d.toJS() })).filter((x) => x.js !== null && x.js !== undefined);
  const mine = simple.filter((d) => d.data !== null && d.data !== undefined);
  for (const d of mine) expect(nesting(d.data), `depth bound of:\n${text}`).toBeLessThanOrEqual(d.depth);
  expect(
    mine.map((d) => d.data),
    text,
  ).toEqual(full.map((x) => x.js));
  full.forEach(({ d, js }, i) => {
    const n = d.getIn(['metadata', 'name'], true);
    const name = (js as { metadata?: { name?: unknown } }).metadata?.name;
    if (n?.range && typeof name === 'string') {
      const p = lc.linePos(n.range[0]!);
      expect(mine[i]!.namePos, text).toEqual([p.line, p.col]);
    }
  });
  return true;
}

describe('parseSimpleYaml agrees with yaml', () => {
  test('random documents in many styles', () => {
    let accepted = 0;
    fc.assert(
      fc.property(value, fc.integer(), (v, seed) => {
        let x = seed >>> 0;
        const pick = (): number => {
          x = (x * 1103515245 + 12345) >>> 0;
          return x >>> 16;
        };
        const body = emit(v, pick);
        if (compareWithYaml(body)) accepted++;
        compareWithYaml(`# head\n${body}---\n${body}`);
      }),
      { numRuns: 3000 },
    );
    // The comparison means something only if the fast reader accepts a good share of the inputs.
    expect(accepted).toBeGreaterThan(200);
  });

  test('random token soup', () => {
    const token = fc.constantFrom(
      'a',
      'b: ',
      ': ',
      '- ',
      '  ',
      '\n',
      '#',
      ' #c',
      '"',
      "'",
      '[',
      ']',
      '{',
      '}',
      ',',
      '1',
      'x',
      '---\n',
      '\\',
      'metadata:\n  name: ',
      '::',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (ts) => {
        compareWithYaml(ts.join(''));
      }),
      { numRuns: 5000 },
    );
  });

  test('host, site and policy files take the fast reader', () => {
    for (const t of [syntheticHost(3, 2), syntheticSite(1), syntheticPolicy('edge')]) {
      expect(parseSimpleYaml(t)).toBeDefined();
      compareWithYaml(t);
    }
  });
});
