/**
 * The HTTP face over the real daemon, in process: the lab (fixture repo, MAAS emulator, reconciler core) with
 * `/readyz`, `/metrics` and `/api/v1/status` read while it converges, an invalid revision committed and shown
 * everywhere it should be, and the PR-comment files written per revision.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDeps } from '../../../src/cli/commands/lab.js';
import { silentLogger } from '../../../src/cli/logger.js';
import type { DaemonSnapshot } from '../../../src/daemon/view.js';
import { labPaths, startLab } from '../../../src/lab/index.js';
import type { RunningLab } from '../../../src/lab/index.js';
import { parsePrometheusText, seriesValue } from '../../unit/http/prom-text.js';

const FIXTURE = join(import.meta.dirname, '..', '..', 'fixtures', 'lab', 'repo');

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('HTTP face over the real daemon (lab in process, MAAS emulator)', () => {
  const state = mkdtempSync(join(tmpdir(), 'gough-lab-http-'));
  let lab: RunningLab;
  let base: string;
  let out = '';

  beforeAll(async () => {
    const stdout = new Writable({
      write(c: Buffer, _e, cb) {
        out += c.toString();
        cb();
      },
    });
    lab = await startLab(
      { source: FIXTURE, stateDir: state, hosts: 2, timeFactor: 0.02, failRate: 0, port: 0, emulatorOnly: false },
      labDeps(labPaths(state), silentLogger()),
      { stdout, stderr: stdout },
    );
    base = (lab.url ?? '').replace(/\/$/, '');
  });

  afterAll(async () => {
    await lab?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  const status = async (): Promise<DaemonSnapshot> => (await (await fetch(`${base}/api/v1/status`)).json()) as DaemonSnapshot;
  const metrics = async () => parsePrometheusText(await (await fetch(`${base}/metrics`)).text());

  it('converges, and readiness, metrics and status agree with the fleet', async () => {
    expect(out).toContain('Site edge1 (pxe, 1 hosts) is not emulated in the lab');
    const snap = await until(
      'convergence',
      async () => {
        const s = await status();
        return s.hosts.length === 5 && s.hosts.every((h) => h.observed.lifecycle === 'deployed') ? s : undefined;
      },
      60_000,
    );
    expect(snap.hosts.map((h) => h.host).sort()).toEqual(['lab-0001', 'lab-0002', 'r1-n01', 'r1-n02', 'r1-n03']);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: lab.paths.repo, encoding: 'utf8' }).trim();
    // A pass may observe the last host deployed a moment before that deploy's own verification finishes the action.
    const m = await until(
      'every action counted',
      async () => {
        const x = await metrics();
        return seriesValue(x, 'gough_actions_total', { kind: 'deploy', outcome: 'succeeded' }) === 5 ? x : undefined;
      },
      10_000,
    );
    expect(seriesValue(m, 'gough_hosts', { site: 'dc1', lifecycle: 'deployed' })).toBe(5);
    expect(seriesValue(m, 'gough_hosts', { site: 'dc1', lifecycle: 'new' })).toBe(0);
    expect(seriesValue(m, 'gough_actions_total', { kind: 'commission', outcome: 'succeeded' })).toBe(5);
    expect(seriesValue(m, 'gough_actions_total', { kind: 'deploy', outcome: 'succeeded' })).toBe(5);
    expect(seriesValue(m, 'gough_applied_revision_info', { revision: head })).toBe(1);
    expect(seriesValue(m, 'gough_desired_revision_info', { revision: head })).toBe(1);
    expect(seriesValue(m, 'gough_passes_total', { result: 'ok' })).toBeGreaterThan(1);
    expect(seriesValue(m, 'gough_pass_duration_seconds_count', { result: 'ok' })).toBe(seriesValue(m, 'gough_passes_total', { result: 'ok' }));
    const lastOk = seriesValue(m, 'gough_last_successful_pass_timestamp_seconds') ?? 0;
    expect(Math.abs(lastOk - Date.now() / 1000)).toBeLessThan(30);
    expect(seriesValue(m, 'gough_invalid_revision')).toBe(0);
    // the PR comment of the first revision
    const comment = await until('the comment file', () => (existsSync(join(state, 'comments', `${head}.md`)) ? readFileSync(join(state, 'comments', `${head}.md`), 'utf8') : undefined), 10_000);
    expect(comment).toContain(`Gough plan (site dc1) for \`${head}\``);
  });

  it('reports an invalid revision and keeps acting on the last good one', async () => {
    const good = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: lab.paths.repo, encoding: 'utf8' }).trim();
    const file = join(lab.paths.repo, 'hosts', 'dc1', 'r1-n02.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('    rack: r1\n', '    rakc: r1\n'));
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qam', 'typo'], { cwd: lab.paths.repo });
    const bad = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: lab.paths.repo, encoding: 'utf8' }).trim();

    const snap = await until('the invalid revision', async () => ((await status()).invalidRevision?.revision === bad ? status() : undefined), 10_000);
    expect(snap.appliedRevision).toBe(good);
    expect(snap.desiredRevision).toBe(bad);
    expect(snap.invalidRevision?.diagnostics.some((d) => d.file.endsWith('r1-n02.yaml') && d.severity === 'error')).toBe(true);
    const m = await metrics();
    expect(seriesValue(m, 'gough_invalid_revision')).toBe(1);
    expect(seriesValue(m, 'gough_applied_revision_info', { revision: good })).toBe(1);
    expect(seriesValue(m, 'gough_desired_revision_info', { revision: bad })).toBe(1);
    const comment = await until('the comment of the bad revision', () => (existsSync(join(state, 'comments', `${bad}.md`)) ? readFileSync(join(state, 'comments', `${bad}.md`), 'utf8') : undefined), 10_000);
    expect(comment).toContain('The revision is invalid');
    expect(comment).toMatch(/r1-n02\.yaml:\d+:\d+: error\[/);
    expect(out).toContain(`Revision ${bad.slice(0, 10)} is invalid`);
  });

  it('stops everything', async () => {
    const port = Number(new URL(base).port);
    const emulatorPort = Number(new URL(lab.emulator.url).port);
    await lab.stop();
    expect(await refused(port)).toBe(true);
    expect(await refused(emulatorPort)).toBe(true);
    expect(existsSync(join(state, 'emulator.json'))).toBe(false);
  });
});
