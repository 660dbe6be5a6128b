/**
 * `gough lab` as a user runs it: the built CLI in a child process, the example repo, the MAAS emulator, the
 * daemon, the status page in headless Chromium, a commit acted on within a second, and Ctrl-C leaving nothing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonEvent, DaemonSnapshot } from '../../src/daemon/view.js';
import { launchBrowser } from '../unit/http/browser.js';
import { BIN, ROOT, ensureBuilt } from '../unit/lab/built-cli.js';


async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
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

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Inserts `vars: {kubernetesVersion: "1.31"}` into host r1-n01's document (a template variable: new user-data). */
function editHost(file: string): void {
  const text = readFileSync(file, 'utf8');
  const docs = text.split(/^---$/m);
  const i = docs.findIndex((d) => /^\s{2}name: r1-n01$/m.test(d));
  expect(i, 'r1-n01 is in the file').toBeGreaterThanOrEqual(0);
  docs[i] = (docs[i] as string).replace(/^(\s{2}template: k8s-worker)$/m, '$1\n  vars:\n    kubernetesVersion: "1.31"');
  expect(docs[i]).toContain('kubernetesVersion: "1.31"');
  writeFileSync(file, docs.join('---'));
}

describe('gough lab (built CLI, MAAS emulator, chromium)', () => {
  const state = mkdtempSync(join(tmpdir(), 'gough-lab-e2e-'));
  let child: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let base = '';
  let emulatorPort = 0;
  let statusPort = 0;

  beforeAll(async () => {
    ensureBuilt();
    statusPort = await freePort();
    child = spawn(process.execPath, [BIN, 'lab', '--port', String(statusPort), '--state-dir', state, '--speed', 'fast'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    exit = new Promise((resolve) => child?.once('exit', (code, signal) => resolve({ code, signal })));
    const url = await until(
      'the status page URL',
      () => {
        if (child?.exitCode !== null) throw new Error(`gough lab exited ${child?.exitCode}: ${stderr}${stdout}`);
        return /Status page: (http:\S+)/.exec(stdout)?.[1];
      },
      60_000,
    );
    base = url.replace(/\/$/, '');
    emulatorPort = Number(/MAAS emulator: http:\/\/127\.0\.0\.1:(\d+)\/MAAS/.exec(stdout)?.[1]);
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    rmSync(state, { recursive: true, force: true });
  });

  it('converges the example fleet, acts on a commit within 1 s, shows it live, and stops cleanly on Ctrl-C', async () => {
    expect(base).toBe(`http://127.0.0.1:${statusPort}`);
    expect(emulatorPort).toBeGreaterThan(0);
    expect(stdout).toMatch(/Site edge1 \(pxe, \d+ hosts\) is not emulated in the lab/);

    // 1. Convergence: every lab host deployed and Ready.
    const converged = await until(
      'the fleet to converge',
      async () => {
        const snap = (await (await fetch(`${base}/api/v1/status`)).json()) as DaemonSnapshot;
        const ok =
          snap.hosts.length > 0 &&
          snap.hosts.every((h) => h.observed.lifecycle === 'deployed' && h.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ok ? snap : undefined;
      },
      90_000,
    );
    expect(converged.sites).toEqual(['dc1']);
    expect(converged.hosts.map((h) => h.host)).toContain('r1-n01');
    expect(stdout).toMatch(/hosts: \d+\/\d+ ready/); // plain progress lines (stdout is not a TTY)
    const before = converged.hosts.find((h) => h.host === 'r1-n01');

    // 2. Follow the daemon's events, then edit a host and commit in the lab repo.
    const ac = new AbortController();
    const events: { at: number; e: DaemonEvent }[] = [];
    const res = await fetch(`${base}/events`, { signal: ac.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const pump = (async () => {
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += dec.decode(value);
        let k = buf.indexOf('\n\n');
        while (k >= 0) {
          const frame = buf.slice(0, k);
          buf = buf.slice(k + 2);
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (data) events.push({ at: performance.now(), e: JSON.parse(data) as DaemonEvent });
          k = buf.indexOf('\n\n');
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 200));

    const repo = join(state, 'repo');
    editHost(join(repo, 'hosts', 'dc1', 'k8s-workers-r1.yaml'));
    execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', 'commit', '-qam', 'r1-n01: Kubernetes 1.31'], { cwd: repo });
    const committedAt = performance.now();
    const revision = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();

    const started = await until(
      'the first action for r1-n01',
      () => events.find((x) => x.e.type === 'action-started' && x.e.host === 'r1-n01'),
      10_000,
    );
    const latency = started.at - committedAt;
    console.info(`gough lab: commit to first action (redeploy r1-n01): ${latency.toFixed(0)} ms`);
    expect(started.e).toMatchObject({ type: 'action-started', host: 'r1-n01', kind: 'redeploy' });
    expect(latency, `commit acted on after ${latency.toFixed(0)} ms`).toBeLessThan(1000);

    // 3. The status page shows it, live.
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${base}/?site=dc1`);
      const row = page.locator('tr[data-host="r1-n01"]');
      await row.locator('td.action', { hasText: 'redeploy' }).waitFor({ timeout: 10_000 });
      await until('the page to show the new revision', async () => ((await page.locator('#rev-desired').textContent()) === revision.slice(0, 10) ? true : undefined), 10_000);
      mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'test-artifacts', 'status-page-lab.png'), fullPage: true });
      // and it converges again, live
      await row.locator('td.outcome', { hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
      expect(await row.locator('td.lifecycle').textContent()).toBe('deployed');
    } finally {
      await browser.close();
    }
    const after = ((await (await fetch(`${base}/api/v1/status`)).json()) as DaemonSnapshot).hosts.find((h) => h.host === 'r1-n01');
    expect(after?.specHash).not.toBe(before?.specHash);

    // 4. Status on the status branch, PR-comment text in the state dir.
    await until(
      'the status branch to record the new revision',
      () => {
        const doc = execFileSync('git', ['show', 'gough/status:status/dc1/r1-n01.yaml'], { cwd: repo, encoding: 'utf8' });
        return doc.includes(revision) ? doc : undefined;
      },
      10_000,
    );
    const comment = await until('the PR comment file', () => (existsSync(join(state, 'comments', `${revision}.md`)) ? readFileSync(join(state, 'comments', `${revision}.md`), 'utf8') : undefined), 10_000);
    expect(comment).toContain(revision);
    expect(readdirSync(join(state, 'comments')).length).toBeGreaterThanOrEqual(2);

    ac.abort();
    await pump;

    // 5. Ctrl-C: the process exits 0 and nothing keeps listening.
    child?.kill('SIGINT');
    const { code } = await Promise.race([exit, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`gough lab did not stop: ${stdout}`)), 15_000))]);
    expect(code).toBe(0);
    expect(stdout).toContain('Lab stopped.');
    expect(await refused(statusPort)).toBe(true);
    expect(await refused(emulatorPort)).toBe(true);
    expect(existsSync(join(state, 'emulator.json'))).toBe(false);
    // the lab log has JSON lines and no API key
    const log = readFileSync(join(state, 'lab.log'), 'utf8');
    expect(log.length).toBeGreaterThan(0);
    for (const line of log.trim().split('\n')) JSON.parse(line);
  });
});
