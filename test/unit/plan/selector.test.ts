import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '../../../src/model/index.js';
import { matchesSelector } from '../../../src/model/index.js';
import { compileSelector } from '../../../src/plan/selector.js';
import { host } from './helpers.js';

const KEYS = ['role', 'rack', 'zone'] as const;
const VALUES = ['a', 'b', 'c'] as const;

const selectorArb: fc.Arbitrary<LabelSelector> = fc.record(
  {
    matchLabels: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 2 }),
    matchExpressions: fc.array(
      fc.record({
        key: fc.constantFrom(...KEYS),
        operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'),
        values: fc.array(fc.constantFrom(...VALUES), { maxLength: 2 }),
      }),
      { maxLength: 3 },
    ),
    sites: fc.array(fc.constantFrom('dc1', 'dc2'), { maxLength: 2 }),
    hosts: fc.array(fc.constantFrom('h1', 'h2', 'h3'), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const hostArb = fc
  .record({
    name: fc.constantFrom('h1', 'h2', 'h3'),
    site: fc.constantFrom('dc1', 'dc2'),
    labels: fc.option(fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 3 })),
  })
  .map((h) => host(h.name, { site: h.site, ...(h.labels ? { labels: h.labels } : {}) }));

describe('compiled selectors', () => {
  it('answer exactly as matchesSelector does', () => {
    fc.assert(
      fc.property(selectorArb, fc.array(hostArb, { minLength: 1, maxLength: 10 }), (sel, hosts) => {
        const compiled = compileSelector(sel);
        for (const h of hosts) expect(compiled(h)).toBe(matchesSelector(sel, h));
      }),
      { numRuns: 3000 },
    );
  });
});
