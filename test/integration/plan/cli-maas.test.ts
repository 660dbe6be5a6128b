/**
 * `gough plan --observed maas|lab` against the MAAS emulator over HTTP (loopback, ephemeral port), with the built
 * CLI (`node dist/cli/bin.js`, built by `npm test` before vitest) and example-repo.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MaasEmulator } from '../../../src/lab/maas-emulator/index.js';
import { seedMachinesFromHosts, startMaasEmulator } from '../../../src/lab/maas-emulator/index.js';
import { hasErrors, loadDirectory } from '../../../src/repo/index.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = resolve(ROOT, 'dist/cli/bin.js');
const NOW = '2026-11-23T10:00:00Z';

let emulator: MaasEmulator;
let stateDir: string;

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test builds before vitest)`);
  const { desired, diagnostics } = await loadDirectory(join(ROOT, 'example-repo'));
  expect(hasErrors(diagnostics)).toBe(false);
  const initial: Record<string, string> = { 'r1-n01': 'ready', 'r1-n02': 'absent', 'db-04': 'failed_deployment' };
  emulator = await startMaasEmulator({
    port: 0,
    machines: seedMachinesFromHosts(desired.hosts, { site: 'dc1', sites: desired.sites, initial: (h) => initial[h.metadata.name] ?? 'new' }),
  });
  stateDir = await mkdtemp(join(tmpdir(), `gough-plan-lab-${process.pid}-`));
  await writeFile(join(stateDir, 'emulator.json'), `${JSON.stringify({ url: emulator.url, pid: process.pid })}\n`);
});

afterAll(async () => {
  await emulator?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe('gough plan against the MAAS emulator', () => {
  it('--observed maas: plans from what MAAS reports, skips non-MAAS sites, and only reads', async () => {
    emulator.clearLog();
    const r = await cli(['plan', 'example-repo', '--observed', 'maas', '--maas-url', emulator.url, '--now', NOW, '--format', 'json'], {
      GOUGH_MAAS_API_KEY: emulator.apiKey,
    });
    expect(r.stderr).toBe('gough plan: skipping site "edge1": --observed maas observes only MAAS sites\n');
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { actions: { host: string; kind: string }[]; summary: { hosts: number } };
    const kinds = Object.fromEntries(p.actions.map((a) => [a.host, a.kind]));
    expect(kinds['r1-n01']).toBe('deploy');
    expect(kinds['r1-n02']).toBe('register');
    expect(kinds['db-04']).toBe('deploy');
    expect(kinds['r2-n01']).toBe('commission');
    expect(Object.keys(kinds).some((h) => h.startsWith('edge-'))).toBe(false);
    expect(p.summary.hosts).toBe(16);
    const log = emulator.requestLog();
    expect(log.length).toBeGreaterThan(0);
    expect(log.every((e) => e.method === 'GET')).toBe(true);
    expect(emulator.machines().find((m) => m.hostname === 'r1-n01')?.status).toBe(4); // still Ready: nothing acted
  });

  it('--observed lab: finds the emulator through the lab state directory', async () => {
    const r = await cli(['plan', 'example-repo', '--observed', 'lab', '--state-dir', stateDir, '--now', NOW, '--site', 'dc1'], {
      GOUGH_MAAS_API_KEY: emulator.apiKey,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}\+ register +r1-n02$/m);
    expect(r.stdout).toMatch(/^ {2}\+ deploy +r1-n01$/m);
  });

  it('a wrong API key is a one-line error, exit 1, and the key is not printed', async () => {
    const r = await cli(['plan', 'example-repo', '--observed', 'maas', '--maas-url', emulator.url, '--site', 'dc1'], {
      GOUGH_MAAS_API_KEY: 'AAAAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBBBB:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC',
    });
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).not.toContain('CCCCCCCC');
  });

  it('a missing API key says which reference is unset', async () => {
    const r = await cli(['plan', 'example-repo', '--observed', 'maas', '--maas-url', emulator.url, '--site', 'dc1'], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GOUGH_MAAS_API_KEY');
  });
});
