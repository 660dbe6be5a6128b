import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveDaemonConfig } from '../../../src/daemon/index.js';

describe('deploy/daemon.yaml', () => {
  it('is a valid daemon config with secrets only by reference', () => {
    const text = readFileSync(new URL('../../../deploy/daemon.yaml', import.meta.url), 'utf8');
    const c = resolveDaemonConfig(text, {}, { baseDir: '/etc/gough' });
    expect(c).toMatchObject({ sites: ['dc1'], stateDir: '/var/lib/gough', repo: { credentials: { tokenRef: { env: 'GOUGH_GIT_TOKEN' } } } });
  });
});
