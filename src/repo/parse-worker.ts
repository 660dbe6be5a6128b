/**
 * A worker thread of `parseEntries` (parse-pool.ts): claims chunks of the file list from the shared counter,
 * reads and parses each file with its own directory reader, and posts each chunk's ParsedFiles back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ParsedFile } from './parse.js';
import { parseOne, type WorkerInput, type WorkerMessage } from './parse-pool.js';
import { dirReader } from './reader.js';

const input = workerData as WorkerInput;
const reader = dirReader(input.directory);
const next = new Int32Array(input.next);
const post = (m: WorkerMessage): void => parentPort?.postMessage(m);

const claim = (): number => Atomics.add(next, 0, input.chunk);
for (let start = claim(); start < input.paths.length; start = claim()) {
  const end = Math.min(start + input.chunk, input.paths.length);
  const files: ParsedFile[] = [];
  for (let i = start; i < end; i++) files.push(await parseOne(reader, input.paths[i]!));
  post({ start, files });
}
post({ done: true });
