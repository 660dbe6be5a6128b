/**
 * `npm run bench`: runs every benchmark and prints its table. Not part of `npm test`: figures are printed,
 * never asserted. `npm run bench -- NAME...` runs only the named ones.
 */
import type { Benchmark } from './harness.js';

const BENCHMARKS: readonly (() => Promise<Benchmark>)[] = [
  // Each benchmark module exports `benchmark: Benchmark`; add one line per module.
  async () => (await import('./maas.js')).benchmark,
  async () => (await import('./validate.js')).benchmark,
  async () => (await import('./render.js')).benchmark,
  async () => (await import('./plan.js')).benchmark,
  async () => (await import('./ipmi.js')).benchmark,
  async () => (await import('./pxe.js')).benchmark,
  async () => (await import('./git.js')).benchmark,
  async () => (await import('./daemon.js')).benchmark,
];

const only = process.argv.slice(2);
for (const load of BENCHMARKS) {
  const b = await load();
  if (only.length > 0 && !only.includes(b.name)) continue;
  process.stdout.write(`\n## ${b.name}: ${b.title}\n\n`);
  await b.run((line) => process.stdout.write(`${line}\n`));
}
