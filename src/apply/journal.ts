/**
 * The action journal: one SQLite (WAL) row per dispatch of an action, `pending → running → succeeded | failed`
 * (or `cancelled` when the plan no longer asks for it). A row is written `running` (attempts + 1) BEFORE the
 * action's first side effect, so after a crash every action that may have touched the world is known.
 * better-sqlite3 is synchronous: a `mark*` call has reached the WAL when it returns.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Action, ActionKind, FailedAction } from '../model/index.js';
import { GoughError } from '../model/index.js';

export const JOURNAL_STATES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JournalState = (typeof JOURNAL_STATES)[number];

export type JournalEntry = {
  seq: number;
  actionId: string;
  host: string;
  site: string;
  kind: ActionKind;
  specHash?: string;
  power?: 'on' | 'off';
  reason: string;
  revision: string;
  state: JournalState;
  attempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Earliest time of the next attempt (pending after a retryable failure). */
  nextAttemptAt?: string;
  error?: string;
  errorCode?: string;
  message?: string;
  /** A terminal failure re-armed by `gough retry HOST`. */
  rearmed: boolean;
};

type Row = {
  seq: number;
  action_id: string;
  host: string;
  site: string;
  kind: string;
  spec_hash: string | null;
  power: string | null;
  reason: string;
  revision: string;
  state: string;
  attempts: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  next_attempt_at: string | null;
  error: string | null;
  error_code: string | null;
  message: string | null;
  rearmed: number;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS actions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  action_id TEXT NOT NULL,
  host TEXT NOT NULL,
  site TEXT NOT NULL,
  kind TEXT NOT NULL,
  spec_hash TEXT,
  power TEXT,
  reason TEXT NOT NULL DEFAULT '',
  revision TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','running','succeeded','failed','cancelled')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  next_attempt_at TEXT,
  error TEXT,
  error_code TEXT,
  message TEXT,
  rearmed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS actions_action_id ON actions(action_id, seq);
CREATE INDEX IF NOT EXISTS actions_host ON actions(host, seq);
CREATE INDEX IF NOT EXISTS actions_open ON actions(state) WHERE state IN ('pending','running');
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

function toEntry(r: Row): JournalEntry {
  const e: JournalEntry = {
    seq: r.seq,
    actionId: r.action_id,
    host: r.host,
    site: r.site,
    kind: r.kind as ActionKind,
    reason: r.reason,
    revision: r.revision,
    state: r.state as JournalState,
    attempts: r.attempts,
    createdAt: r.created_at,
    rearmed: r.rearmed !== 0,
  };
  if (r.spec_hash !== null) e.specHash = r.spec_hash;
  if (r.power === 'on' || r.power === 'off') e.power = r.power;
  if (r.started_at !== null) e.startedAt = r.started_at;
  if (r.finished_at !== null) e.finishedAt = r.finished_at;
  if (r.next_attempt_at !== null) e.nextAttemptAt = r.next_attempt_at;
  if (r.error !== null) e.error = r.error;
  if (r.error_code !== null) e.errorCode = r.error_code;
  if (r.message !== null) e.message = r.message;
  return e;
}

export type JournalOptions = { readonly?: boolean };

export class Journal {
  #db: Database.Database;
  #closed = false;

  private constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Opens (creating when needed) the journal at `path` (`:memory:` for tests). */
  static open(path: string, opts: JournalOptions = {}): Journal {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path, { readonly: opts.readonly ?? false, timeout: 5000 });
      if (!opts.readonly) {
        db.pragma('journal_mode = WAL');
        // FULL: a committed row survives power loss too, not only a killed process.
        db.pragma('synchronous = FULL');
        db.exec(SCHEMA);
      }
      return new Journal(db);
    } catch (e) {
      throw new GoughError('journal-error', `Cannot open the journal "${path}": ${(e as Error).message}`, { cause: e });
    }
  }

  get path(): string {
    return this.#db.name;
  }

  #run(sql: string, params: Record<string, unknown>): Database.RunResult {
    if (this.#closed) throw new GoughError('journal-error', 'Cannot write the journal: it is closed');
    try {
      return this.#db.prepare(sql).run(params);
    } catch (e) {
      throw new GoughError('journal-error', `Cannot write the journal: ${(e as Error).message}`, { cause: e });
    }
  }

  #all(sql: string, params: Record<string, unknown> = {}): JournalEntry[] {
    return (this.#db.prepare(sql).all(params) as Row[]).map(toEntry);
  }

  /** Creates a `pending` entry for an action of `revision`. */
  create(action: Action, revision: string, now: string): JournalEntry {
    const r = this.#run(
      `INSERT INTO actions (action_id, host, site, kind, spec_hash, power, reason, revision, state, attempts, created_at)
       VALUES (@actionId, @host, @site, @kind, @specHash, @power, @reason, @revision, 'pending', 0, @now)`,
      {
        actionId: action.id,
        host: action.host,
        site: action.site,
        kind: action.kind,
        specHash: action.specHash ?? null,
        power: action.power ?? null,
        reason: action.reason,
        revision,
        now,
      },
    );
    const e = this.get(Number(r.lastInsertRowid));
    if (!e) throw new GoughError('internal', 'Journal entry vanished after insert');
    return e;
  }

  get(seq: number): JournalEntry | undefined {
    return this.#all('SELECT * FROM actions WHERE seq = @seq', { seq })[0];
  }

  /** Marks an attempt started: MUST be called before the attempt's first side effect. */
  markRunning(seq: number, now: string): JournalEntry {
    this.#run(
      `UPDATE actions SET state = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, @now),
       next_attempt_at = NULL WHERE seq = @seq`,
      { seq, now },
    );
    return this.get(seq)!;
  }

  /** Back to `pending` after a retryable failure (or when resumed after a restart). */
  markPending(seq: number, opts: { now: string; error?: string; errorCode?: string; nextAttemptAt?: string }): void {
    this.#run(
      `UPDATE actions SET state = 'pending', error = COALESCE(@error, error), error_code = COALESCE(@code, error_code),
       next_attempt_at = @next WHERE seq = @seq`,
      { seq, error: opts.error ?? null, code: opts.errorCode ?? null, next: opts.nextAttemptAt ?? null },
    );
  }

  markSucceeded(seq: number, message: string, now: string): void {
    this.#run(
      `UPDATE actions SET state = 'succeeded', finished_at = @now, message = @message, next_attempt_at = NULL WHERE seq = @seq`,
      { seq, now, message },
    );
  }

  markFailed(seq: number, error: { message: string; code: string }, now: string): void {
    this.#run(
      `UPDATE actions SET state = 'failed', finished_at = @now, error = @error, error_code = @code, next_attempt_at = NULL
       WHERE seq = @seq`,
      { seq, now, error: error.message, code: error.code },
    );
  }

  markCancelled(seq: number, reason: string, now: string): void {
    this.#run(
      `UPDATE actions SET state = 'cancelled', finished_at = @now, message = @reason, next_attempt_at = NULL WHERE seq = @seq`,
      { seq, now, reason },
    );
  }

  /** Entries not finished: `pending` or `running`, oldest first. */
  open(): JournalEntry[] {
    return this.#all(`SELECT * FROM actions WHERE state IN ('pending','running') ORDER BY seq`);
  }

  /** The most recent entry of an action id. */
  latest(actionId: string): JournalEntry | undefined {
    return this.#all('SELECT * FROM actions WHERE action_id = @actionId ORDER BY seq DESC LIMIT 1', { actionId })[0];
  }

  /** The most recent entry per host (for status documents). */
  lastPerHost(): Map<string, JournalEntry> {
    const rows = this.#all(
      'SELECT a.* FROM actions a JOIN (SELECT host, MAX(seq) AS seq FROM actions GROUP BY host) m ON a.seq = m.seq',
    );
    return new Map(rows.map((e) => [e.host, e]));
  }

  /** All entries of a host, most recent first. */
  history(host: string, limit = 50): JournalEntry[] {
    return this.#all('SELECT * FROM actions WHERE host = @host ORDER BY seq DESC LIMIT @limit', { host, limit });
  }

  /**
   * Terminal failures that still block their action: failed for `revision` and not re-armed,
   * and still the latest entry of their action id.
   */
  failed(revision: string): FailedAction[] {
    return this.#all(
      `SELECT a.* FROM actions a JOIN (SELECT action_id, MAX(seq) AS seq FROM actions GROUP BY action_id) m ON a.seq = m.seq
       WHERE a.state = 'failed' AND a.rearmed = 0 AND a.revision = @revision ORDER BY a.seq`,
      { revision },
    ).map((e) => ({ actionId: e.actionId, host: e.host, kind: e.kind, error: e.error ?? '', attempts: e.attempts }));
  }

  /** Re-arms a host's terminal failures (`gough retry HOST`); returns how many were re-armed. */
  rearm(host: string): number {
    return this.#run(`UPDATE actions SET rearmed = 1 WHERE host = @host AND state = 'failed' AND rearmed = 0`, { host })
      .changes;
  }

  counts(): Record<JournalState, number> {
    const out: Record<JournalState, number> = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
    for (const r of this.#db.prepare('SELECT state, COUNT(*) AS n FROM actions GROUP BY state').all() as {
      state: JournalState;
      n: number;
    }[])
      out[r.state] = r.n;
    return out;
  }

  getMeta(key: string): string | undefined {
    const r = this.#db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.#run('INSERT INTO meta (key, value) VALUES (@key, @value) ON CONFLICT(key) DO UPDATE SET value = @value', {
      key,
      value,
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
