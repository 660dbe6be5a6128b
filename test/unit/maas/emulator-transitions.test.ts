/** The emulator's NODE_TRANSITIONS allow every transition the contract README lists (and forbid the obvious wrong ones). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_STATUS } from '../../../src/drivers/maas/index.js';
import { NODE_TRANSITIONS, STATUS_NAME, canTransition } from '../../../src/lab/maas-emulator/index.js';

const README = readFileSync(new URL('../../fixtures/maas/README.md', import.meta.url), 'utf8');

describe('emulator NODE_TRANSITIONS', () => {
  it('allows every transition listed in the contract README', () => {
    const lines = README.split('\n').filter((l) => /^- [A-Z_]+ → /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(9);
    const missing: string[] = [];
    for (const line of lines) {
      const [from, rest] = line.slice(2).split(' → ') as [string, string];
      for (const to of rest.split('|').map((x) => x.trim()).filter((x) => x !== '…')) {
        const f = NODE_STATUS[from as keyof typeof NODE_STATUS];
        const t = NODE_STATUS[to as keyof typeof NODE_STATUS];
        if (f === undefined || t === undefined || !canTransition(f, t)) missing.push(`${from} → ${to}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('has a row for every status and the labels MAAS shows', () => {
    expect(Object.keys(NODE_TRANSITIONS)).toHaveLength(23);
    expect(STATUS_NAME[NODE_STATUS.FAILED_DEPLOYMENT]).toBe('Failed deployment');
    expect(STATUS_NAME[NODE_STATUS.FAILED_RELEASING]).toBe('Releasing failed');
  });

  it.each([
    ['NEW', 'DEPLOYED'],
    ['NEW', 'DEPLOYING'],
    ['COMMISSIONING', 'DEPLOYED'],
    ['READY', 'DEPLOYING'],
    ['DEPLOYED', 'DEPLOYING'],
    ['RELEASING', 'ALLOCATED'],
  ] as const)('forbids %s → %s', (from, to) => {
    expect(canTransition(NODE_STATUS[from], NODE_STATUS[to])).toBe(false);
  });
});
