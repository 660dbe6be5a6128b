import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../src/cli/commands/index.js';
import { main } from '../../../src/cli/main.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (to: string[]) => ({ write: (s: string) => to.push(s) > 0 }) as unknown as NodeJS.WritableStream;
  const io = {
    stdout: sink(out),
    stderr: sink(err),
    env: {},
    cwd: process.cwd(),
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('command registry', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('%s: the entry matches its module and has --help', async (_n, entry) => {
    const cmd = await entry.load();
    expect(cmd.name).toBe(entry.name);
    expect(cmd.summary).toBe(entry.summary);
    const c = capture();
    expect(await main([entry.name, '--help'], c.io)).toBe(0);
    expect(c.out()).toMatch(/usage/i);
  });

  it('lists every command in gough --help and rejects an unknown one with exit 2', async () => {
    const c = capture();
    expect(await main(['--help'], c.io)).toBe(0);
    for (const e of COMMANDS) expect(c.out()).toContain(e.name);
    const u = capture();
    expect(await main(['frobnicate'], u.io)).toBe(2);
    expect(u.err()).toContain('unknown command "frobnicate"');
  });
});
