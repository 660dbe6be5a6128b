import { describe, expect, it } from 'vitest';
import { matchesSelector, type Host } from '../../../src/model/index.js';

const host = (name: string, labels: Record<string, string>, site = 's1'): Host => ({
  apiVersion: 'gough.dev/v1',
  kind: 'Host',
  metadata: { name, labels },
  spec: { site, hardware: { macs: ['52:54:00:00:00:01'], arch: 'amd64', firmware: 'uefi' }, state: 'deployed', power: 'on' },
});

describe('matchesSelector', () => {
  const h = host('db-1', { role: 'db', tier: 'gold' });
  it.each([
    [{}, true],
    [{ matchLabels: { role: 'db' } }, true],
    [{ matchLabels: { role: 'web' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['gold', 'silver'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['gold'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'Exists' as const }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' as const }] }, true],
    [{ sites: ['s2'] }, false],
    [{ hosts: ['db-1'], matchLabels: { role: 'db' } }, true],
  ])('%j selects=%s', (sel, want) => {
    expect(matchesSelector(sel, h)).toBe(want);
  });
});
