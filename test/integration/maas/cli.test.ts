/** `gough maas-emulator --repo example-repo` serves the repo's MAAS hosts; `gough plan --observed maas` reads them. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/command.js';
import { runMaasEmulator } from '../../../src/cli/commands/maas-emulator.js';
import { main } from '../../../src/cli/main.js';

function io(env: NodeJS.ProcessEnv = {}): CliIo & { out(): string; err(): string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  return { stdout, stderr, env, cwd: process.cwd(), out: () => out, err: () => err };
}

async function until<T>(f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gough maas-emulator', () => {
  it('serves example-repo\'s MAAS hosts so that gough plan --observed maas works against it', async () => {
    const emuIo = io();
    let stop!: () => void;
    const done = runMaasEmulator(['--repo', 'example-repo', '--site', 'dc1', '--port', '0', '--initial', 'ready'], emuIo, new Promise<void>((r) => (stop = r)));
    try {
      const url = await until(() => /listening on (\S+)/.exec(emuIo.out())?.[1]);
      const key = await until(() => /export GOUGH_MAAS_API_KEY='([^']+)'/.exec(emuIo.out())?.[1]);
      expect(emuIo.out()).toMatch(/\(\d+ machines, speed 10x\)/);
      const planIo = io({ GOUGH_MAAS_API_KEY: key });
      const code = await main(['plan', 'example-repo', '--observed', 'maas', '--site', 'dc1', '--maas-url', url, '--format', 'json'], planIo);
      expect(planIo.err()).toBe('');
      expect(code).toBe(0);
      const plan = JSON.parse(planIo.out()) as { actions: { kind: string; host: string }[]; blocked: { action: { kind: string } }[] };
      const kinds = [...plan.actions.map((a) => a.kind), ...plan.blocked.map((b) => b.action.kind)];
      // Every dc1 host is a Ready machine: the plan deploys (or holds a deploy back by policy), never registers.
      expect(kinds.length).toBeGreaterThan(0);
      expect(kinds).not.toContain('register');
      expect(kinds).not.toContain('commission');
      const log = (await (await fetch(url.replace(/\/MAAS$/, '/_emulator/log'))).json()) as { method: string; path: string }[];
      expect(log.map((e) => `${e.method} ${e.path}`)).toEqual(['GET /MAAS/api/2.0/machines/']);
    } finally {
      stop();
      expect(await done).toBe(0);
    }
  });

  it('rejects bad options with usage errors', async () => {
    const bad = io();
    expect(await runMaasEmulator(['--fail-rate', '2'], bad, Promise.resolve())).toBe(2);
    expect(bad.err()).toContain('--fail-rate must be a number from 0 to 1, got "2"');
  });
});
