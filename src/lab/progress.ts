/**
 * What `gough lab` prints while the fleet converges: hosts by lifecycle, with a redrawn progress bar on a
 * terminal and plain lines (only when something changed) otherwise.
 */
import type { DaemonSnapshot } from '../daemon/index.js';
import { LIFECYCLES } from '../model/index.js';
import type { Lifecycle } from '../model/index.js';

export type FleetProgress = {
  total: number;
  /** Hosts whose Ready condition is True (they run what the repo says). */
  ready: number;
  byLifecycle: Partial<Record<Lifecycle, number>>;
  failed: number;
  blocked: number;
  converged: boolean;
};

/** Counts a snapshot's hosts. Pure. */
export function fleetProgress(snap: DaemonSnapshot): FleetProgress {
  const byLifecycle: Partial<Record<Lifecycle, number>> = {};
  let ready = 0;
  let failed = 0;
  let blocked = 0;
  for (const h of snap.hosts) {
    byLifecycle[h.observed.lifecycle] = (byLifecycle[h.observed.lifecycle] ?? 0) + 1;
    if (h.conditions.some((c) => c.type === 'Ready' && c.status === 'True')) ready += 1;
    if (h.lastAction?.outcome === 'failed' || h.observed.lifecycle === 'failed' || h.observed.lifecycle === 'broken') failed += 1;
    if (h.blocked.length > 0) blocked += 1;
  }
  const total = snap.hosts.length;
  const converged = snap.plan?.converged ?? (total > 0 && ready === total);
  return { total, ready, byLifecycle, failed, blocked, converged };
}

/** `deployed 12 · deploying 3 · new 5` in lifecycle order. Pure. */
export function formatLifecycles(p: FleetProgress): string {
  const parts: string[] = [];
  for (const l of LIFECYCLES) {
    const n = p.byLifecycle[l];
    if (n) parts.push(`${l} ${n}`);
  }
  if (p.blocked) parts.push(`blocked ${p.blocked}`);
  return parts.length > 0 ? parts.join(' · ') : 'no hosts yet';
}

/** A fixed-width bar: `[#######.............]`. Pure. */
export function bar(done: number, total: number, width = 24): string {
  const filled = total <= 0 ? 0 : Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export type ProgressPrinterOptions = {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Redraw one line with a bar (default: `out.isTTY`). */
  tty?: boolean;
  /** Milliseconds since start, for plain lines (default: real clock). */
  elapsedMs?: () => number;
};

export class ProgressPrinter {
  readonly #out: ProgressPrinterOptions['out'];
  readonly #tty: boolean;
  readonly #elapsed: () => number;
  #last = '';
  #drawn = false;
  #wasConverged = false;
  #wasSettled = false;

  constructor(opts: ProgressPrinterOptions) {
    this.#out = opts.out;
    this.#tty = opts.tty ?? opts.out.isTTY === true;
    const start = Date.now();
    this.#elapsed = opts.elapsedMs ?? (() => Date.now() - start);
  }

  /** Shows the fleet's state; prints nothing when it did not change. Returns the progress. */
  update(snap: DaemonSnapshot): FleetProgress {
    const p = fleetProgress(snap);
    if (p.total === 0 && snap.lastSuccessfulPassAt === undefined) return p; // nothing observed yet
    const summary = `${p.ready}/${p.total} ready · ${formatLifecycles(p)}`;
    if (summary !== this.#last) {
      this.#last = summary;
      if (this.#tty) {
        const line = `${bar(p.ready, p.total)} ${summary}`;
        const cols = this.#out.columns ?? 120;
        this.#out.write(`\r\x1b[2K${line.length > cols - 1 ? `${line.slice(0, cols - 2)}…` : line}`);
        this.#drawn = true;
      } else {
        this.#out.write(`[${(this.#elapsed() / 1000).toFixed(1).padStart(6)} s] hosts: ${summary}\n`);
      }
    }
    // Settled: nothing to do or wait for, but some hosts are held back (failed, blocked by policy).
    const settled = !p.converged && snap.plan !== undefined && snap.plan.actions === 0 && snap.plan.waits === 0;
    if (p.converged && !this.#wasConverged && p.total > 0) {
      this.line(`Fleet converged: ${p.ready}/${p.total} hosts ready`);
    } else if (settled && !this.#wasSettled && p.total > 0) {
      this.line(
        `Fleet settled: ${p.ready}/${p.total} hosts ready; ${p.failed} failed, ${p.blocked} blocked (reasons on the status page)`,
      );
    }
    this.#wasConverged = p.converged;
    this.#wasSettled = settled;
    return p;
  }

  /** Prints a message on its own line (below the bar on a terminal). */
  line(text: string): void {
    if (this.#tty && this.#drawn) {
      this.#out.write(`\r\x1b[2K${text}\n`);
      this.#last = '';
      this.#drawn = false;
    } else {
      this.#out.write(`${text}\n`);
    }
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.#tty && this.#drawn) this.#out.write('\n');
    this.#drawn = false;
  }
}
