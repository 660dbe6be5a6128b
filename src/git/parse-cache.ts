/**
 * The parse cache on disk: parsed documents keyed by content id (Git blob id), in one SQLite file in the state
 * directory. Content-addressed, so entries never go stale; a version string keys out entries written by another
 * parser version. Writes are buffered and committed in one transaction (at the next tick, or on `flush`).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { GoughError } from '../model/index.js';

export class DiskParseCache<T = unknown> {
  #db: Database.Database;
  #get: Database.Statement;
  #put: Database.Statement;
  #pending = new Map<string, T>();
  /** Entries read or written by this process (a running daemon re-loads without touching the disk). */
  #memory = new Map<string, T>();
  #memoryMax: number;
  #scheduled = false;
  #version: string;
  hits = 0;
  misses = 0;

  constructor(path: string, opts: { version?: string; memoryEntries?: number } = {}) {
    this.#version = opts.version ?? 'v1';
    this.#memoryMax = opts.memoryEntries ?? 100_000;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#db = new Database(path, { timeout: 5000 });
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.exec('CREATE TABLE IF NOT EXISTS parsed (id TEXT PRIMARY KEY, version TEXT NOT NULL, json TEXT NOT NULL)');
    } catch (e) {
      throw new GoughError('git-error', `Cannot open the parse cache "${path}": ${(e as Error).message}`, { cause: e });
    }
    this.#get = this.#db.prepare('SELECT json FROM parsed WHERE id = ? AND version = ?');
    this.#put = this.#db.prepare('INSERT OR REPLACE INTO parsed (id, version, json) VALUES (?, ?, ?)');
  }

  get(id: string): T | undefined {
    const m = this.#memory.get(id) ?? this.#pending.get(id);
    if (m !== undefined) {
      this.hits++;
      return m;
    }
    const r = this.#get.get(id, this.#version) as { json: string } | undefined;
    if (!r) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const v = JSON.parse(r.json) as T;
    this.#remember(id, v);
    return v;
  }

  #remember(id: string, v: T): void {
    if (this.#memory.size >= this.#memoryMax) this.#memory.clear();
    this.#memory.set(id, v);
  }

  set(id: string, value: T): void {
    this.#remember(id, value);
    this.#pending.set(id, value);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Commits buffered entries. */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.size === 0 || !this.#db.open) return;
    const entries = [...this.#pending];
    this.#pending.clear();
    this.#db.transaction(() => {
      for (const [id, v] of entries) this.#put.run(id, this.#version, JSON.stringify(v));
    })();
  }

  get size(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM parsed').get() as { n: number }).n + this.#pending.size;
  }

  close(): void {
    this.flush();
    if (this.#db.open) this.#db.close();
  }
}
