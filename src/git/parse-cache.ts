/**
 * The parse cache on disk: parsed documents keyed by content id (Git blob id), in one SQLite file in the state
 * directory. Content-addressed, so entries never go stale; a version string (with Gough's version) keys out entries
 * written by other code. Writes are buffered and committed in one transaction (at the next tick, or on `flush`).
 *
 * It also keeps the latest whole load result, keyed by the fingerprint of the files' content ids, so a restart on
 * an unchanged revision neither parses nor renders. That entry is large (every rendered host), so it is written
 * when the process is idle (`resultDelayMs` after the last load) or on `close`, never on a pass's critical path.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import Database from 'better-sqlite3';
import { GOUGH_VERSION, GoughError } from '../model/index.js';

export type DiskParseCacheOptions = {
  version?: string;
  memoryEntries?: number;
  /** Idle time before the latest load result is written (default 5000 ms). */
  resultDelayMs?: number;
};

export class DiskParseCache<T = unknown, R = unknown> {
  #db: Database.Database;
  #get: Database.Statement;
  #put: Database.Statement;
  #pending = new Map<string, T>();
  /** Entries read or written by this process (a running daemon re-loads without touching the disk). */
  #memory = new Map<string, T>();
  #memoryMax: number;
  #scheduled = false;
  #version: string;
  #getResult: Database.Statement;
  #putResult: Database.Statement;
  #pendingResult: { fingerprint: () => string; result: () => R } | undefined;
  #resultTimer: NodeJS.Timeout | undefined;
  #resultDelayMs: number;
  hits = 0;
  misses = 0;

  constructor(path: string, opts: DiskParseCacheOptions = {}) {
    this.#version = `${opts.version ?? 'v1'}/${GOUGH_VERSION}`;
    this.#memoryMax = opts.memoryEntries ?? 100_000;
    this.#resultDelayMs = opts.resultDelayMs ?? 5000;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#db = new Database(path, { timeout: 5000 });
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.exec('CREATE TABLE IF NOT EXISTS parsed (id TEXT PRIMARY KEY, version TEXT NOT NULL, json TEXT NOT NULL)');
      this.#db.exec('CREATE TABLE IF NOT EXISTS result (slot INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL, version TEXT NOT NULL, data BLOB NOT NULL)');
    } catch (e) {
      throw new GoughError('git-error', `Cannot open the parse cache "${path}": ${(e as Error).message}`, { cause: e });
    }
    this.#get = this.#db.prepare('SELECT json FROM parsed WHERE id = ? AND version = ?');
    this.#put = this.#db.prepare('INSERT OR REPLACE INTO parsed (id, version, json) VALUES (?, ?, ?)');
    this.#getResult = this.#db.prepare('SELECT data FROM result WHERE slot = 1 AND fingerprint = ? AND version = ?');
    this.#putResult = this.#db.prepare('INSERT OR REPLACE INTO result (slot, fingerprint, version, data) VALUES (1, ?, ?, ?)');
  }

  /** The stored load result for `fingerprint`, if it is the latest one written. */
  getResult(fingerprint: string): R | undefined {
    const p = this.#pendingResult;
    if (p !== undefined && p.fingerprint() === fingerprint) return p.result();
    if (!this.#db.open) return undefined;
    const r = this.#getResult.get(fingerprint, this.#version) as { data: Buffer } | undefined;
    if (!r) return undefined;
    try {
      return deserialize(r.data) as R;
    } catch {
      return undefined; // unreadable (another Node version's format): load as if cold
    }
  }

  /**
   * Remembers the latest load result; written when idle or on `close`. Either may be given lazily (a function),
   * so the caller does not hash its files or copy its result on its critical path: both are asked for once, then.
   */
  setResult(fingerprint: string | (() => string), result: R | (() => R)): void {
    this.#pendingResult = { fingerprint: once(fingerprint), result: once(result) };
    if (this.#resultTimer === undefined) {
      this.#resultTimer = setTimeout(() => this.flushResult(), this.#resultDelayMs);
      this.#resultTimer.unref();
    } else this.#resultTimer.refresh();
  }

  /** Writes the pending load result now. */
  flushResult(): void {
    if (this.#resultTimer !== undefined) clearTimeout(this.#resultTimer);
    this.#resultTimer = undefined;
    const p = this.#pendingResult;
    this.#pendingResult = undefined;
    if (p === undefined || !this.#db.open) return;
    this.#putResult.run(p.fingerprint(), this.#version, serialize(p.result()));
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
    this.flushResult();
    if (this.#db.open) this.#db.close();
  }
}

/** A value, or a function evaluated at most once. */
function once<V>(v: V | (() => V)): () => V {
  if (typeof v !== 'function') return () => v;
  const f = v as () => V;
  let done = false;
  let value: V;
  return () => {
    if (!done) {
      value = f();
      done = true;
    }
    return value;
  };
}
