/** Waiting that an AbortSignal can cut short: drivers pause between polls and retries with it. */
import { GoughError } from './errors.js';

/** Resolves after `ms`; rejects with `GoughError('aborted')` (the signal's reason as its cause) when aborted first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new GoughError('aborted', 'Operation cancelled', { cause: signal.reason }));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new GoughError('aborted', 'Operation cancelled', { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
