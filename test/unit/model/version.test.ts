import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GOUGH_VERSION } from '../../../src/model/index.js';

describe('GOUGH_VERSION', () => {
  it("is package.json's version (it keys on-disk caches, so a release must bump both)", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(GOUGH_VERSION).toBe(pkg.version);
  });
});
