/**
 * Reading and parsing the listed files of a tree: the per-file half of a load, before the cross-file checks.
 *
 * A large working directory is parsed on several threads. This thread and worker threads (`parse-worker.ts`)
 * claim chunks of the sorted list from a shared counter and read and parse them with the same `parseFile`;
 * workers post their ParsedFiles back (a structured clone costs this thread ~7 µs a file, against ~35 µs to
 * read and parse one). Claiming from a counter balances the threads whatever each one's speed: a worker still
 * starting up (modules, schema compilation) simply claims less. The result is in list order and equal to a
 * one-thread parse; chunks a failed worker claimed but never delivered are parsed here.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ParseCache } from './load.js';
import { type ParsedFile, parseFile, unreadableFile } from './parse.js';
import type { FileEntry, FileReader } from './reader.js';

/** Files read at once on the one-thread path (a Git tree's reads are asynchronous). */
const READ_CONCURRENCY = 32;
/**
 * Below this many files a worker does not pay for itself: it needs ~0.2–0.4 s (modules, schema compilation, a
 * cold JIT) before it parses at full speed, by when this thread has read and parsed ~10,000 files. Measured on 2
 * cores: 100,000 files parse in half the time with one worker; at 10,000 one worker took ~10–20% of the files and
 * saved no wall time.
 */
export const PARALLEL_MIN_FILES = 20_000;
/** Most worker threads (besides this one). */
const MAX_WORKERS = 3;
/** Files claimed at once: few messages, and the threads still finish within a chunk of each other. */
const CHUNK = 128;
/** A worker's young generation (MiB): parsed files live until posted, and a larger one copies them less often. */
const WORKER_YOUNG_GENERATION_MB = 64;

/** The worker's module; absent when running from TypeScript sources (tests), which then parse on one thread. */
const WORKER_URL = new URL('./parse-worker.js', import.meta.url);

export type ParseEntriesOptions = {
  cache?: ParseCache | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Worker threads to use besides this one. Default: one per further core (at most 3) for a working directory
   * of at least PARALLEL_MIN_FILES files, else none.
   */
  workers?: number;
  /** Whether this thread parses too (default true); false leaves it free, e.g. for a daemon's HTTP server. */
  thisThread?: boolean;
  /** Filled in: how the work was shared. */
  stats?: ParseStats;
};

export type ParseStats = { workers: number; filesByWorkers: number };

/** What `parse-worker.ts` is started with. */
export type WorkerInput = {
  directory: string;
  paths: string[];
  /** Int32 counter: the index of the next unclaimed file. */
  next: SharedArrayBuffer;
  chunk: number;
};

/** A worker's message: the ParsedFiles of the entries from `start`, or the end of its work. */
export type WorkerMessage = { start: number; files: ParsedFile[] } | { done: true };

/**
 * The ParsedFile of every entry, in order: from `cache` when it holds the entry's content id, else read and
 * parsed (and stored in `cache`). A file that cannot be read is a ParsedFile with one diagnostic.
 */
export async function parseEntries(
  reader: FileReader,
  entries: readonly FileEntry[],
  opts: ParseEntriesOptions = {},
): Promise<ParsedFile[]> {
  const workers = opts.workers ?? defaultWorkers(entries.length);
  const directory = reader.directory;
  // Content ids mean a parse cache is in play (a Git tree): that path stays on this thread.
  if (directory === undefined || workers < 1 || entries.some((e) => e.id !== undefined) || !existsSync(WORKER_URL)) {
    if (opts.stats) {
      opts.stats.workers = 0;
      opts.stats.filesByWorkers = 0;
    }
    return parseHere(reader, entries, opts);
  }
  return parseInParallel(reader, directory, entries, workers, opts);
}

function defaultWorkers(files: number): number {
  return files < PARALLEL_MIN_FILES ? 0 : Math.min(MAX_WORKERS, availableParallelism() - 1);
}

/** Reads and parses one file; throws only when `signal` aborted. */
export async function parseOne(reader: FileReader, path: string, signal?: AbortSignal): Promise<ParsedFile> {
  try {
    return parseFile(await reader.read(path, signal ? { signal } : {}));
  } catch (err) {
    signal?.throwIfAborted();
    return unreadableFile(err);
  }
}

async function parseHere(
  reader: FileReader,
  entries: readonly FileEntry[],
  opts: ParseEntriesOptions,
): Promise<ParsedFile[]> {
  const { cache, signal } = opts;
  const parsed: ParsedFile[] = new Array(entries.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < entries.length) {
      const i = next++;
      const e = entries[i]!;
      const cached = e.id !== undefined ? cache?.get(e.id) : undefined;
      if (cached) {
        parsed[i] = cached;
        continue;
      }
      let pf: ParsedFile;
      try {
        pf = parseFile(await reader.read(e.path, signal ? { signal } : {}));
      } catch (err) {
        signal?.throwIfAborted();
        parsed[i] = unreadableFile(err); // not cached: the next load tries again
        continue;
      }
      parsed[i] = pf;
      if (e.id !== undefined) cache?.set(e.id, pf);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, entries.length) }, run));
  signal?.throwIfAborted();
  return parsed;
}

async function parseInParallel(
  reader: FileReader,
  directory: string,
  entries: readonly FileEntry[],
  workers: number,
  opts: ParseEntriesOptions,
): Promise<ParsedFile[]> {
  const { signal, stats } = opts;
  const parsed: (ParsedFile | undefined)[] = new Array(entries.length);
  const input: WorkerInput = {
    directory,
    paths: entries.map((e) => e.path),
    next: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
    chunk: CHUNK,
  };
  const next = new Int32Array(input.next);
  // Settles when every file is parsed, or as soon as a worker fails. A worker still starting up when this thread
  // has claimed the last chunk is not waited for.
  let unparsed = entries.length;
  let settle = (): void => {};
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const parsedHere = (count: number): void => {
    unparsed -= count;
    if (unparsed === 0) settle();
  };
  const deliver = (start: number, files: readonly ParsedFile[]): void => {
    for (let k = 0; k < files.length; k++) parsed[start + k] = files[k];
    parsedHere(files.length);
  };
  const threads = Array.from({ length: workers }, () => startWorker(input, deliver, settle));
  let here = 0;
  try {
    const claim = (): number => (opts.thisThread === false ? entries.length : Atomics.add(next, 0, CHUNK));
    for (let start = claim(); start < entries.length; start = claim()) {
      signal?.throwIfAborted();
      const end = Math.min(start + CHUNK, entries.length);
      for (let i = start; i < end; i++) parsed[i] = await parseOne(reader, entries[i]!.path, signal);
      here += end - start;
      parsedHere(end - start);
    }
    await untilSettled(settled, signal);
  } finally {
    for (const t of threads) t.stop();
  }
  let missing = 0;
  for (let i = 0; i < parsed.length; i++) {
    if (parsed[i] !== undefined) continue;
    parsed[i] = await parseOne(reader, entries[i]!.path, signal);
    missing++;
  }
  signal?.throwIfAborted();
  if (stats) {
    stats.workers = workers;
    stats.filesByWorkers = entries.length - here - missing;
  }
  return parsed as ParsedFile[];
}

/**
 * Starts one worker, which hands its chunks to `deliver`; `failed` is called when it dies before it is done.
 * A worker that cannot start at all (e.g. node options a worker refuses) only means less help.
 */
function startWorker(
  input: WorkerInput,
  deliver: (start: number, files: readonly ParsedFile[]) => void,
  failed: () => void,
): { stop(): void } {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL, {
      workerData: input,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      ...workerExecArgv(process.execArgv),
    });
  } catch {
    return { stop: () => {} };
  }
  let done = false;
  worker.on('message', (m: WorkerMessage) => {
    if ('done' in m) done = true;
    else deliver(m.start, m.files);
  });
  worker.on('error', failed);
  worker.on('exit', () => {
    if (!done) failed();
  });
  return { stop: () => void worker.terminate() };
}

/**
 * Workers inherit the parent's node options, but `--input-type` is for `-e` code only and a file worker refuses
 * to start with it: then the options are given without it.
 */
function workerExecArgv(args: readonly string[]): { execArgv?: string[] } {
  if (!args.some((a) => a === '--input-type' || a.startsWith('--input-type='))) return {};
  const execArgv: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--input-type') i++;
    else if (!args[i]!.startsWith('--input-type=')) execArgv.push(args[i]!);
  }
  return { execArgv };
}

/** Waits for `done`, or rejects as soon as `signal` aborts. */
async function untilSettled(done: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) {
    await done;
    return;
  }
  signal.throwIfAborted();
  let onAbort = (): void => {};
  const abort = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([done, abort]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
