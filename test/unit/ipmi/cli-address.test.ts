import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../../src/cli/commands/bmc.js';

describe('gough bmc --address parsing', () => {
  it.each([
    ['10.0.0.17', { address: '10.0.0.17' }],
    ['10.0.0.17:6230', { address: '10.0.0.17', port: 6230 }],
    ['bmc-r1-n07.example', { address: 'bmc-r1-n07.example' }],
    ['[fd00::17]:623', { address: 'fd00::17', port: 623 }],
    ['[fd00::17]', { address: 'fd00::17' }],
    ['fd00::17', { address: 'fd00::17' }],
  ])('%s', (text, want) => {
    expect(parseAddress(text)).toEqual(want);
  });

  it.each(['', '10.0.0.1:0', '10.0.0.1:70000', 'a b'])('rejects %j', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });
});
