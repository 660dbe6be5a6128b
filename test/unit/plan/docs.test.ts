import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRANSITIONS } from '../../../src/plan/index.js';

const DOC = readFileSync(join(import.meta.dirname, '../../../docs/plan.md'), 'utf8');

describe('docs/plan.md', () => {
  it('shows the transition table exactly as the code has it, row by row', () => {
    const lines = DOC.split('\n').filter((l) => /^\| [DRA]\d\d \|/.test(l));
    const expected = TRANSITIONS.map(
      (r) =>
        `| ${r.id} | ${r.desired} | ${r.power} | ${r.lifecycle} | ${r.obsPower} | ${r.spec} | ${r.agent} | ${r.outcome} | ${r.disruptive ? 'yes' : 'no'} | ${r.why} |`,
    );
    expect(lines).toEqual(expected);
  });
});
