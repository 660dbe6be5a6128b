/**
 * Reading a repository tree. `FileReader` is the small interface a Git tree implements too; `dirReader`
 * reads a working directory and never follows symlinks.
 */
import { constants } from 'node:fs';
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { GoughError } from '../model/index.js';
import { MAX_FILE_BYTES, formatBytes } from './limits.js';

export type FileEntry = {
  /** Posix path relative to the root. */
  path: string;
  /** Content id (e.g. a Git blob sha) used as the parse-cache key; absent means "do not cache". */
  id?: string;
};

export type ReadOptions = { signal?: AbortSignal };

export interface FileReader {
  /**
   * The directory this reader reads, when it reads one (set by `dirReader`): a large tree's files may then be
   * read and parsed in worker threads, each with its own `dirReader` over it.
   */
  readonly directory?: string;
  /** Every file under the root that may hold resources (the loader filters by extension). */
  list(opts?: ReadOptions): Promise<FileEntry[]>;
  /**
   * The bytes of one listed file. Throws `GoughError` with code `file-read` (unreadable, symlink) or
   * `yaml-limit` (larger than the loader's size limit) — the loader turns both into diagnostics.
   */
  read(path: string, opts?: ReadOptions): Promise<Uint8Array>;
}

/** True for names the loader reads: `*.yaml` and `*.yml`. */
export function isYamlPath(path: string): boolean {
  return path.endsWith('.yaml') || path.endsWith('.yml');
}

/** True when any path segment starts with a dot (`.git/`, `.github/`, `.hidden.yaml`): such files are skipped. */
export function isHiddenPath(path: string): boolean {
  return path.startsWith('.') || path.includes('/.');
}

/**
 * A reader over a directory. Lists YAML files (and YAML-named symlinks, so they can be reported) below `root`,
 * skipping hidden directories; never descends into symlinked directories; `read` refuses symlinks, paths that
 * leave the root, and files larger than `MAX_FILE_BYTES` (without reading them).
 */
const SYMLINK_MESSAGE = 'File is a symlink: Gough never follows symlinks, commit the file itself';

/** Bytes tried in the first read of a file; a larger file is read again at its real size. */
const FIRST_READ = 64 * 1024;
/** Files are read into shared slabs of this size and handed out as views: one allocation per ~thousand files. */
const SLAB_BYTES = 1024 * 1024;
const PARENT_SEGMENT = /(?:^|\/)\.\.(?:\/|$)/;

/** True when a relative path has an empty or `..` segment, or is absolute. */
function leavesRoot(path: string): boolean {
  return (
    path === '' ||
    path.startsWith('/') ||
    path.endsWith('/') ||
    path.includes('//') ||
    (path.includes('..') && PARENT_SEGMENT.test(path))
  );
}

export function dirReader(root: string): FileReader {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  // A slab is never reused once full (views handed out stay valid); a new one is allocated instead.
  let slab = new Uint8Array(SLAB_BYTES);
  let used = 0;
  return {
    directory: root,
    async list(opts = {}) {
      const out: FileEntry[] = [];
      // Synchronous, like `read`: a tree of many folders lists several times faster without thread-pool round trips.
      const walk = (rel: string): void => {
        opts.signal?.throwIfAborted();
        const entries = readdirSync(rel === '' ? root : join(root, rel), { withFileTypes: true });
        for (const e of entries) {
          if (e.name.startsWith('.')) continue;
          const p = rel === '' ? e.name : `${rel}/${e.name}`;
          if (e.isDirectory()) walk(p);
          else if ((e.isFile() || e.isSymbolicLink()) && isYamlPath(e.name)) out.push({ path: p });
        }
      };
      walk('');
      out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return out;
    },
    async read(path, opts = {}) {
      opts.signal?.throwIfAborted();
      if (leavesRoot(path)) {
        throw new GoughError('file-read', `Cannot read "${path}": path leaves the repository`);
      }
      // Synchronous calls: for many small files they are several times faster than the thread pool's round trips.
      let fd: number;
      try {
        // `path` was checked above (relative, no empty or `..` segment): no join() normalisation needed.
        fd = openSync(prefix + path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOOP') throw new GoughError('file-read', SYMLINK_MESSAGE);
        throw new GoughError('file-read', `Cannot read file: ${code ?? String(e)}`, { cause: e });
      }
      try {
        // Read into the slab first: most files fit, which saves the fstat call and a copy.
        if (SLAB_BYTES - used < FIRST_READ) {
          slab = new Uint8Array(SLAB_BYTES);
          used = 0;
        }
        const start = used;
        let n = readSync(fd, slab, start, FIRST_READ, 0);
        if (n < FIRST_READ) {
          used += n;
          return slab.subarray(start, start + n);
        }
        const chunk = slab.subarray(start, start + FIRST_READ);
        const st = fstatSync(fd);
        if (!st.isFile()) throw new GoughError('file-read', 'Not a regular file');
        if (st.size > MAX_FILE_BYTES) {
          throw new GoughError(
            'yaml-limit',
            `File is ${formatBytes(st.size)}, larger than the limit of ${formatBytes(MAX_FILE_BYTES)}: split it into smaller files`,
          );
        }
        const buf = new Uint8Array(st.size);
        buf.set(chunk);
        let off = n;
        while (off < buf.length) {
          n = readSync(fd, buf, off, buf.length - off, off);
          if (n === 0) break;
          off += n;
        }
        return off === buf.length ? buf : buf.subarray(0, off);
      } finally {
        closeSync(fd);
      }
    },
  };
}
