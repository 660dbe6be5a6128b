/**
 * `npm run bench -- validate`: generates synthetic repos of 1,000 / 10,000 / 100,000 hosts and times a full
 * `loadDirectory` (read, parse, schema, cross-file checks, rendering of every host) on each, with peak RSS.
 * Targets on a 2-core machine: 10,000 hosts ≤ 1 s, 100,000 ≤ 10 s, RSS ≤ 1 GiB.
 */
import { rm } from 'node:fs/promises';
import { loadDirectory } from '../repo/index.js';
import { type Benchmark, measure, table } from './harness.js';
import { generateSyntheticRepo } from './synthetic.js';

const SIZES = (process.env['GOUGH_BENCH_VALIDATE_SIZES'] ?? '1000,10000,100000').split(',').map(Number);

export const benchmark: Benchmark = {
  name: 'validate',
  title: 'gough validate on synthetic repos (one host per file)',
  async run(print) {
    const rows: (string | number)[][] = [];
    for (const n of SIZES) {
      const repo = await generateSyntheticRepo({ hosts: n });
      try {
        (globalThis as { gc?: () => void }).gc?.();
        const m = await measure(() => loadDirectory(repo.dir));
        const { diagnostics, desired } = m.value;
        if (diagnostics.length > 0) throw new Error(`Synthetic repo is not clean: ${diagnostics[0]!.message}`);
        if (desired.rendered.size !== n) throw new Error(`Rendered ${desired.rendered.size} of ${n} hosts`);
        rows.push([n, repo.files, Math.round(m.ms), Math.round((n / m.ms) * 1000), Math.round(m.peakRssMiB)]);
      } finally {
        await rm(repo.dir, { recursive: true, force: true });
      }
    }
    for (const line of table(['hosts', 'files', 'wall ms', 'hosts/s', 'peak RSS MiB'], rows)) print(line);
  },
};
