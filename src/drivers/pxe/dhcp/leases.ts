/** Lease persistence: a JSON file written atomically (temp file + rename), so leases survive restarts. */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GoughError } from '../../../model/index.js';
import type { Lease } from './responder.js';

export class LeaseFile {
  readonly #path: string;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.#path = path;
  }

  get path(): string {
    return this.#path;
  }

  async load(): Promise<Lease[]> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new GoughError('internal', `Cannot read lease file "${this.#path}": ${(e as Error).message}`, { cause: e });
    }
    try {
      const doc = JSON.parse(text) as { leases?: unknown };
      if (!Array.isArray(doc.leases)) return [];
      return doc.leases.filter(
        (l): l is Lease =>
          typeof l === 'object' &&
          l !== null &&
          typeof (l as Lease).mac === 'string' &&
          typeof (l as Lease).address === 'string' &&
          typeof (l as Lease).expiresAt === 'number' &&
          ['offered', 'bound', 'declined'].includes((l as Lease).state),
      );
    } catch {
      return []; // a torn or hand-edited file must not stop DHCP; leases are re-learned
    }
  }

  /** Writes are serialized; the last one wins. */
  save(leases: readonly Lease[]): Promise<void> {
    const body = `${JSON.stringify({ version: 1, leases }, null, 1)}\n`;
    this.#writing = this.#writing.then(async () => {
      await mkdir(dirname(this.#path), { recursive: true });
      const tmp = `${this.#path}.${process.pid}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, this.#path);
    });
    return this.#writing;
  }
}
