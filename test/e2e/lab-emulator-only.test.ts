/**
 * `gough lab --emulator-only` (built CLI): the MAAS emulator with the example repo's MAAS hosts as machines,
 * its URL and key printed, `gough plan --observed lab` against it, and SIGTERM leaving nothing running.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, ensureBuilt } from '../unit/lab/built-cli.js';


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

describe('gough lab --emulator-only and usage (built CLI)', () => {
  const state = mkdtempSync(join(tmpdir(), 'gough-lab-emu-'));
  let child: ChildProcess | undefined;

  beforeAll(() => {
    ensureBuilt();
  });
  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(state, { recursive: true, force: true });
  });

  it('rejects bad options with exit 2 and a one-line reason', () => {
    for (const [args, msg] of [
      [['--hosts', 'many'], '--hosts must be a whole number'],
      [['--speed', 'warp'], '--speed must be a positive number'],
      [['--fail-rate', '2'], '--fail-rate must be between 0 and 1'],
      [['--bogus'], 'Unknown option'],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, 'lab', ...args], { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const help = spawnSync(process.execPath, [BIN, 'lab', '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: gough lab');
  });

  it('serves the repo hosts as MAAS machines, plans against them, and stops on SIGTERM', async () => {
    child = spawn(process.execPath, [BIN, 'lab', '--emulator-only', '--state-dir', state, '--hosts', '5'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exit = new Promise<number | null>((r) => child?.once('exit', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    while (!out.includes('Press Ctrl-C') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('Press Ctrl-C');
    const url = /MAAS emulator: (http:\/\/127\.0\.0\.1:(\d+)\/MAAS)/.exec(out);
    const key = /API key: (\S+)/.exec(out)?.[1];
    expect(url).not.toBeNull();
    expect(key).toMatch(/^[^:]+:[^:]+:[^:]+$/);
    const port = Number(url?.[2]);
    expect(JSON.parse(readFileSync(join(state, 'emulator.json'), 'utf8')).url).toBe(url?.[1]);
    expect(readFileSync(join(state, 'emulator.json'), 'utf8')).not.toContain(key);

    // the emulator answers as MAAS with the example repo's dc1 hosts plus 5 generated ones
    const machines = (await (await fetch(`http://127.0.0.1:${port}/_emulator/machines`)).json()) as { hostname: string; status_name: string }[];
    const names = machines.map((m) => m.hostname);
    expect(names).toContain('r1-n01');
    expect(names.filter((n) => n.startsWith('lab-'))).toHaveLength(5);
    expect(names.some((n) => n.startsWith('edge-'))).toBe(false);
    expect(machines.every((m) => m.status_name === 'New')).toBe(true);

    // gough plan --observed lab, as the printed hint says
    const env = { ...process.env, GOUGH_MAAS_API_KEY: key, NO_COLOR: '1' };
    const plan = spawnSync(process.execPath, [BIN, 'plan', join(state, 'repo'), '--observed', 'lab', '--state-dir', state, '--site', 'dc1', '--no-color'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(plan.stderr).toBe('');
    expect(plan.status).toBe(0);
    expect(plan.stdout).toContain('lab-0001');
    expect(plan.stdout).toMatch(/commission|deploy/);

    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toContain('Lab stopped.');
    expect(await refused(port)).toBe(true);
    expect(existsSync(join(state, 'emulator.json'))).toBe(false);
  });
});
