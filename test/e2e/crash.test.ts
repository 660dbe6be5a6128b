import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCrashTest } from '../../src/bench/soak.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = `${root}dist/cli/bin.js`;

describe('crash safety (built CLI, SIGKILL, MAAS emulator)', () => {
  it('killed 20 times mid-rollout, never deploys or releases a host twice and converges every host', async () => {
    expect(existsSync(cli), 'run `npm run build` first: the test runs the built CLI').toBe(true);
    const lines: string[] = [];
    const r = await runCrashTest({
      cli,
      exampleRepo: `${root}example-repo`,
      kills: 20,
      minMs: 0,
      maxMs: 800,
      timeFactor: 0.1,
      convergeTimeoutMs: 60_000,
      log: (l) => lines.push(l),
    });
    const detail = `${lines.join('\n')}\n--- daemon log tail ---\n${r.stderrTail}`;
    expect(r.kills).toBe(20);
    expect(r.duplicateDeploys, detail).toEqual([]);
    expect(r.duplicateReleases, detail).toEqual([]);
    expect(r.deployed, detail).toBe(r.hosts);
    expect(r.deployCalls).toBe(r.hosts);
    // Kills really landed mid-rollout: some restarts found journal entries the killed process left open.
    expect(r.restartsWithOpenEntries, detail).toBeGreaterThan(0);
  }, 150_000);
});
