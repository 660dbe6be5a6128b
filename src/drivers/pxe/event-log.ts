/** Boot events kept in memory (for subscribers) and appended to a JSON-lines file (for other processes). */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BootEvent } from './events.js';

export class EventLog {
  readonly #path: string | undefined;
  readonly #recent: BootEvent[] = [];
  readonly #subs = new Set<(e: BootEvent) => void>();
  #chain: Promise<void> = Promise.resolve();

  constructor(path?: string) {
    this.#path = path;
  }

  record(e: BootEvent): void {
    this.#recent.push(e);
    if (this.#recent.length > 10_000) this.#recent.splice(0, 1_000);
    for (const s of this.#subs) s(e);
    const path = this.#path;
    if (path !== undefined) {
      this.#chain = this.#chain
        .then(async () => {
          await mkdir(dirname(path), { recursive: true });
          await appendFile(path, `${JSON.stringify(e)}\n`);
        })
        .catch(() => {});
    }
  }

  subscribe(fn: (e: BootEvent) => void): () => void {
    this.#subs.add(fn);
    return () => this.#subs.delete(fn);
  }

  /** Waits for pending appends. */
  flush(): Promise<void> {
    return this.#chain;
  }

  /** Events from the file when there is one (all processes), else the ones recorded in this process. */
  async read(): Promise<BootEvent[]> {
    if (this.#path === undefined) return [...this.#recent];
    await this.flush();
    try {
      const text = await readFile(this.#path, 'utf8');
      const out: BootEvent[] = [];
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        try {
          out.push(JSON.parse(line) as BootEvent);
        } catch {
          // a torn last line from a crash
        }
      }
      return out;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
}
