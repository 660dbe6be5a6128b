import { describe, expect, it } from 'vitest';
import { overridesFrom } from '../../../src/cli/commands/daemon.js';
import { parseListen, resolveDaemonConfig } from '../../../src/daemon/index.js';

describe('daemon config', () => {
  it('fills defaults, resolves relative paths, and lets flags override the file', () => {
    const text = 'repo: { url: "https://git.example/fleet.git", credentials: { tokenRef: { env: GIT_TOKEN } } }\nsites: [dc1]\nstateDir: state\ntriggers: { pollSeconds: 30 }\n';
    const c = resolveDaemonConfig(text, {}, { baseDir: '/etc/gough' });
    expect(c).toMatchObject({
      repo: { url: 'https://git.example/fleet.git', branch: 'main', credentials: { tokenRef: { env: 'GIT_TOKEN' } } },
      sites: ['dc1'],
      stateDir: '/etc/gough/state',
      triggers: { pollSeconds: 30, watch: true },
      limits: { maxProvisioningPerSite: 20, maxAttempts: 3 },
      status: { enabled: true, branch: 'gough/status' },
    });
    const o = resolveDaemonConfig(text, { repoPath: './fleet', pollSeconds: 5, sites: ['a', 'b'], statusEnabled: false, maxProvisioning: 4 }, { baseDir: '/srv' });
    expect(o.repo.url).toBeUndefined();
    expect(o.repo.path).toBe('/srv/fleet');
    expect(o).toMatchObject({ sites: ['a', 'b'], triggers: { pollSeconds: 5 }, status: { enabled: false }, limits: { maxProvisioningPerSite: 4 } });
  });

  it('sets the readiness window from the poll interval unless given (0: no age limit)', () => {
    const text = 'repo: { path: ./fleet }\n';
    const at = (o: Parameters<typeof resolveDaemonConfig>[1], t = text) =>
      resolveDaemonConfig(t, o, { baseDir: '/srv' }).http.readyMaxAgeSeconds;
    expect(at({})).toBe(600);
    expect(at({ pollSeconds: 600 })).toBe(1800);
    expect(at({ pollSeconds: 0 })).toBe(0);
    expect(at({ readyMaxAgeSeconds: 120 })).toBe(120);
    expect(at({}, `${text}http: { readyMaxAgeSeconds: 90 }\n`)).toBe(90);
    expect(overridesFrom({ 'ready-max-age': '45' }).readyMaxAgeSeconds).toBe(45);
    expect(() => resolveDaemonConfig(`${text}http: { readyMaxAgeSeconds: -1 }\n`, {}, { baseDir: '/srv' })).toThrow(/readyMaxAgeSeconds/);
  });

  it('rejects unknown keys, a missing repo and a token written into the URL', () => {
    expect(() => resolveDaemonConfig('repo: { path: x }\nbogus: 1\n', {}, { baseDir: '/' })).toThrow(/must NOT have additional properties/);
    expect(() => resolveDaemonConfig('sites: [a]\n', {}, { baseDir: '/' })).toThrow(/config|invalid/);
    expect(() => resolveDaemonConfig('repo: { url: "https://user:tok@git.example/x.git" }\n', {}, { baseDir: '/' })).toThrow(/pattern/);
    expect(() => resolveDaemonConfig('repo: { path: x, credentials: { tokenRef: "literal" } }\n', {}, { baseDir: '/' })).toThrow(/invalid/);
  });

  it('parses listen addresses', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('')).toBeUndefined();
    expect(() => parseListen('nope')).toThrow(/host:port/);
  });
});
