/**
 * `npm run bench -- validate`: generates synthetic repos of 1,000 / 10,000 / 100,000 hosts and times a full
 * `loadDirectory` (read, parse, schema, cross-file checks, rendering of every host) on each, with peak RSS.
 * Targets on a 2-core machine: 10,000 hosts ≤ 1 s, 100,000 ≤ 10 s, RSS ≤ 1 GiB. The CPU column (all threads,
 * including the parse workers) tells a busy machine from a slow loader. The last column is what a user waits
 * for: the built CLI in a fresh process (`node dist/cli/bin.js validate DIR`: start-up, module loading and schema
 * compilation included). GOUGH_BENCH_VALIDATE_SIZES=1000,5000 overrides the sizes.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadDirectory } from '../repo/index.js';
import { type Benchmark, measure, table } from './harness.js';
import { generateSyntheticRepo } from './synthetic.js';

const SIZES = (process.env['GOUGH_BENCH_VALIDATE_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
const BIN = fileURLToPath(new URL('../cli/bin.js', import.meta.url));

/** Wall time (ms) of `gough validate DIR` in a fresh process; throws unless it passes. */
async function timeCli(dir: string): Promise<number> {
  const t0 = performance.now();
  const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'validate', dir], { maxBuffer: 64 * 2 ** 20 });
  const ms = performance.now() - t0;
  if (!stdout.trimEnd().endsWith('no problems')) throw new Error(`gough validate found problems: ${stdout.slice(-300)}`);
  return ms;
}

export const benchmark: Benchmark = {
  name: 'validate',
  title: 'gough validate on synthetic repos (one host per file)',
  async run(print) {
    const rows: (string | number)[][] = [];
    for (const n of SIZES) {
      const repo = await generateSyntheticRepo({ hosts: n });
      try {
        (globalThis as { gc?: () => void }).gc?.();
        const cpu0 = process.cpuUsage();
        const m = await measure(() => loadDirectory(repo.dir));
        const cpu = process.cpuUsage(cpu0);
        const { diagnostics, desired } = m.value;
        if (diagnostics.length > 0) throw new Error(`Synthetic repo is not clean: ${diagnostics[0]!.message}`);
        if (desired.rendered.size !== n) throw new Error(`Rendered ${desired.rendered.size} of ${n} hosts`);
        rows.push([
          n,
          repo.files,
          Math.round(m.ms),
          Math.round((cpu.user + cpu.system) / 1000),
          Math.round((n / m.ms) * 1000),
          Math.round(m.peakRssMiB),
          Math.round(await timeCli(repo.dir)),
        ]);
      } finally {
        await rm(repo.dir, { recursive: true, force: true });
      }
    }
    const head = ['hosts', 'files', 'wall ms', 'CPU ms (all threads)', 'hosts/s', 'peak RSS MiB', 'CLI wall ms (fresh process)'];
    for (const line of table(head, rows)) print(line);
  },
};
