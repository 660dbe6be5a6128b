import { describe, expect, it } from 'vitest';
import { timeFactorOf } from '../../../src/cli/commands/lab.js';

describe('gough lab --speed', () => {
  it.each([
    ['real', 1],
    ['normal', 0.1],
    ['fast', 0.02],
    ['instant', 0.002],
    ['4', 0.25],
    ['0.5', 2],
  ])('%s gives time factor %s', (speed, factor) => {
    expect(timeFactorOf(speed)).toBeCloseTo(factor, 10);
  });
  it.each(['0', '-3', 'warp', '', 'Infinity', '1e9'])('rejects %j', (speed) => {
    expect(timeFactorOf(speed)).toBeUndefined();
  });
});
