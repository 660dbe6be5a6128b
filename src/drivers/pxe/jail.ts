/**
 * Resolving a client-supplied path inside one root directory: no traversal, no absolute escape, no symlink that
 * resolves outside the root (realpath check), regular files only, bounded size. Used by TFTP and HTTP static files.
 */
import { open, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';

export type JailResult =
  | { ok: true; path: string; data: Uint8Array; mtimeMs: number }
  | {
      ok: false;
      reason: 'not-found' | 'denied' | 'too-large';
      message: string;
    };

/** Normalizes a requested name: backslashes to slashes, leading slashes dropped; undefined when unsafe. */
export function safeRelative(name: string): string | undefined {
  if (name.length === 0 || name.length > 1024 || /[\u0000-\u001f\u007f]/.test(name)) return undefined;
  const parts = name
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..')) return undefined;
  return parts.join('/');
}

/** Resolves `name` inside `root` to a real path of a regular file, refusing anything that escapes the root. */
export async function resolveInRoot(
  root: string,
  name: string,
): Promise<
  | { ok: true; path: string; size: number; mtimeMs: number }
  | { ok: false; reason: 'not-found' | 'denied'; message: string }
> {
  const rel = safeRelative(name);
  if (rel === undefined) return { ok: false, reason: 'denied', message: `Path "${name}" is not allowed` };
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(`${realRoot}/${rel}`);
  } catch {
    return { ok: false, reason: 'not-found', message: `File "${rel}" not found` };
  }
  if (!real.startsWith(realRoot + sep)) {
    return { ok: false, reason: 'denied', message: `File "${rel}" resolves outside the root` };
  }
  try {
    const st = await stat(real);
    if (!st.isFile()) return { ok: false, reason: 'not-found', message: `"${rel}" is not a regular file` };
    return { ok: true, path: real, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return { ok: false, reason: 'not-found', message: `File "${rel}" not found` };
  }
}

export async function readInRoot(
  root: string,
  name: string,
  opts: { maxBytes: number; signal?: AbortSignal },
): Promise<JailResult> {
  const rel = safeRelative(name);
  if (rel === undefined)
    return {
      ok: false,
      reason: 'denied',
      message: `Path "${name}" is not allowed`,
    };
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(`${realRoot}/${rel}`);
  } catch {
    return {
      ok: false,
      reason: 'not-found',
      message: `File "${rel}" not found`,
    };
  }
  if (!real.startsWith(realRoot + sep)) {
    return {
      ok: false,
      reason: 'denied',
      message: `File "${rel}" resolves outside the root`,
    };
  }
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(real, 'r');
    const st = await fh.stat();
    if (!st.isFile())
      return {
        ok: false,
        reason: 'not-found',
        message: `"${rel}" is not a regular file`,
      };
    if (st.size > opts.maxBytes) {
      return {
        ok: false,
        reason: 'too-large',
        message: `File "${rel}" is larger than ${opts.maxBytes} bytes`,
      };
    }
    const data = new Uint8Array(st.size);
    let off = 0;
    while (off < st.size) {
      opts.signal?.throwIfAborted();
      const { bytesRead } = await fh.read(data, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return {
      ok: true,
      path: real,
      data: data.subarray(0, off),
      mtimeMs: st.mtimeMs,
    };
  } catch {
    return {
      ok: false,
      reason: 'not-found',
      message: `File "${rel}" cannot be read`,
    };
  } finally {
    await fh?.close();
  }
}
