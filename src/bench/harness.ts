/** Shared helpers for benchmarks: timing, peak RSS sampling, and Markdown tables. */
export type Benchmark = { name: string; title: string; run(print: (line: string) => void): Promise<void> };

/** Runs `fn`, returning its wall time in ms and the peak RSS (MiB) sampled every 10 ms while it ran. */
export async function measure<T>(fn: () => Promise<T> | T): Promise<{ value: T; ms: number; peakRssMiB: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, ms, peakRssMiB: peak / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

export function table(head: string[], rows: (string | number)[][]): string[] {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...cells.map((r) => `| ${r.join(' | ')} |`)];
}

function fmt(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
