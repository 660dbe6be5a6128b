/** A token bucket per provider kind: at most `perSecond` calls on average, bursts up to `burst`. */
import { setTimeout as sleep } from 'node:timers/promises';

export type RateLimit = { perSecond: number; burst?: number };

export class RateLimiter {
  #limit: RateLimit;
  #tokens: number;
  #last: number;
  #now: () => number;
  #queue: Promise<void> = Promise.resolve();

  constructor(limit: RateLimit, now: () => number = () => performance.now()) {
    this.#limit = limit;
    this.#tokens = limit.burst ?? Math.max(1, limit.perSecond);
    this.#now = now;
    this.#last = now();
  }

  #refill(): void {
    const t = this.#now();
    const burst = this.#limit.burst ?? Math.max(1, this.#limit.perSecond);
    this.#tokens = Math.min(burst, this.#tokens + ((t - this.#last) / 1000) * this.#limit.perSecond);
    this.#last = t;
  }

  /** Resolves when a call may go out (FIFO); rejects when `signal` aborts. */
  acquire(signal?: AbortSignal): Promise<void> {
    const next = this.#queue.then(async () => {
      for (;;) {
        signal?.throwIfAborted();
        this.#refill();
        if (this.#tokens >= 1) {
          this.#tokens -= 1;
          return;
        }
        const waitMs = Math.ceil(((1 - this.#tokens) / this.#limit.perSecond) * 1000);
        await sleep(waitMs, undefined, signal ? { signal } : {});
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
