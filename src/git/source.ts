/**
 * The Git source: a remote repository (smart HTTP(S), optional token) fetched into a bare repository in the state
 * directory, or a local repository used in place. Revisions are read straight from Git objects (never a checkout):
 * `reader(commit)` lists a commit's files with their blob ids, so the loader parses only blobs it has not seen.
 */
import fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { GoughError, scrubSecrets } from '../model/index.js';

export type GitAuth = { username?: string; token: string };

export type GitSourceOptions = {
  /** Remote URL (http/https) — exclusive with `path`. */
  url?: string;
  /** Local repository (work tree with `.git`, or a bare repository). */
  path?: string;
  branch: string;
  /** Where a remote is fetched to (a bare repository); required with `url`. */
  cloneDir?: string;
  auth?: GitAuth;
};

/** Entries of one tree (isomorphic-git's shape). */
type TreeEntry = { mode: string; path: string; oid: string; type: 'blob' | 'tree' | 'commit' };

/** One listed file: path (posix) and blob id. Structurally the repo loader's `FileEntry`. */
export type GitFileEntry = { path: string; id: string; mode: string };

export type GitFileReaderOptions = {
  /** Which files to list (default: every blob). Hidden segments (`.github/`) are always skipped. */
  include?: (path: string) => boolean;
  /** Larger blobs are refused with `yaml-limit` when read. */
  maxBytes?: number;
};

export class GitSource {
  readonly branch: string;
  readonly gitdir: string;
  readonly url: string | undefined;
  #auth: GitAuth | undefined;
  /** isomorphic-git's pack cache, shared across calls. */
  readonly cache: object = {};
  /** Tree listings by tree id (immutable, so never invalidated; bounded). */
  #trees = new Map<string, TreeEntry[]>();
  /** Whole-commit file lists by root tree id (the latest few: a pass re-lists the revision it loaded). */
  #listings = new Map<string, GitFileEntry[]>();
  /**
   * Files under each subtree of the latest walk, by `tree id + "\0" + path` (never mutated), with the keys of its
   * child subtrees. Only the latest walk's subtrees are kept, so memory is one revision's listing, not history's.
   */
  #subtrees = new Map<string, Subtree>();

  private constructor(gitdir: string, branch: string, url: string | undefined, auth: GitAuth | undefined) {
    this.gitdir = gitdir;
    this.branch = branch;
    this.url = url;
    this.#auth = auth;
  }

  /** Opens the source; for a remote, initialises the bare repository (the first `fetch` downloads). */
  static async open(opts: GitSourceOptions): Promise<GitSource> {
    if ((opts.url === undefined) === (opts.path === undefined))
      throw new GoughError('config-error', 'Cannot open the Git source: give exactly one of a URL and a path');
    if (opts.path !== undefined) {
      const dotgit = join(opts.path, '.git');
      const gitdir = fs.existsSync(dotgit) ? dotgit : opts.path;
      if (!fs.existsSync(join(gitdir, 'HEAD')))
        throw new GoughError('git-error', `Cannot open the repository "${opts.path}": not a Git repository`);
      return new GitSource(gitdir, opts.branch, undefined, undefined);
    }
    if (!opts.cloneDir) throw new GoughError('config-error', 'Cannot open the Git source: a remote needs a clone directory');
    const gitdir = opts.cloneDir;
    if (!fs.existsSync(join(gitdir, 'HEAD'))) {
      fs.mkdirSync(gitdir, { recursive: true });
      await git.init({ fs, gitdir, bare: true, defaultBranch: opts.branch });
    }
    await git.addRemote({ fs, gitdir, remote: 'origin', url: opts.url!, force: true });
    return new GitSource(gitdir, opts.branch, opts.url, opts.auth);
  }

  get isRemote(): boolean {
    return this.url !== undefined;
  }

  /** The URL without credentials, for messages. */
  get displayUrl(): string {
    return this.url ? scrubSecrets(this.url) : this.gitdir;
  }

  onAuth(): (() => { username: string; password: string }) | undefined {
    const a = this.#auth;
    if (!a) return undefined;
    return () => ({ username: a.username ?? 'x-access-token', password: a.token });
  }

  #wrap(what: string, e: unknown): GoughError {
    const raw = e instanceof Error ? e.message : String(e);
    const secrets = this.#auth ? [this.#auth.token] : [];
    const code = (e as { code?: string }).code;
    const auth = code === 'HttpError' && /\b401\b|\b403\b/.test(raw);
    return new GoughError(auth ? 'auth-failed' : 'git-error', `Cannot ${what} "${this.displayUrl}": ${scrubSecrets(raw, secrets)}`, {
      retry: auth ? { kind: 'never' } : { kind: 'backoff' },
      cause: e,
    });
  }

  /**
   * The branch's current commit: for a remote, after fetching it (a no-op fetch costs ~40 ms); for a local
   * repository, read from its refs.
   */
  async resolve(opts: { signal?: AbortSignal } = {}): Promise<string> {
    opts.signal?.throwIfAborted();
    if (!this.url) {
      try {
        return await git.resolveRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${this.branch}` });
      } catch (e) {
        throw new GoughError('git-error', `Cannot read branch "${this.branch}" of "${this.gitdir}": ${(e as Error).message}`, {
          retry: { kind: 'backoff' },
          cause: e,
        });
      }
    }
    try {
      const onAuth = this.onAuth();
      const r = await git.fetch({
        fs,
        http,
        gitdir: this.gitdir,
        remote: 'origin',
        ref: this.branch,
        singleBranch: true,
        tags: false,
        cache: this.cache,
        ...(onAuth ? { onAuth } : {}),
      });
      if (!r.fetchHead) throw new Error(`branch "${this.branch}" not found`);
      return r.fetchHead;
    } catch (e) {
      throw this.#wrap('fetch', e);
    }
  }

  async #tree(oid: string): Promise<TreeEntry[]> {
    const hit = this.#trees.get(oid);
    if (hit) return hit;
    const r = await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.cache });
    const entries = r.tree as TreeEntry[];
    if (this.#trees.size > 50_000) this.#trees.clear();
    this.#trees.set(oid, entries);
    return entries;
  }

  /** Every file of `commit` (sorted by path; hidden names skipped), read from tree objects only. Do not mutate. */
  async listFiles(commit: string, opts: GitFileReaderOptions & { signal?: AbortSignal } = {}): Promise<GitFileEntry[]> {
    let rootTree: string;
    try {
      rootTree = (await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache: this.cache })).commit.tree;
    } catch (e) {
      throw new GoughError('git-error', `Cannot read commit "${commit}": ${(e as Error).message}`, { cause: e });
    }
    const memo = opts.include === undefined;
    const hit = memo ? this.#listings.get(rootTree) : undefined;
    if (hit) return hit;
    // Each subtree's files by (tree id, path): a new commit re-walks only the trees it changed.
    const next = new Map<string, Subtree>();
    const keep = (key: string): void => {
      const seen = this.#subtrees.get(key);
      if (seen === undefined || next.has(key)) return;
      next.set(key, seen);
      for (const c of seen.children) keep(c);
    };
    const walk = async (treeOid: string, prefix: string): Promise<{ key: string } & Subtree> => {
      opts.signal?.throwIfAborted();
      const key = `${treeOid}\u0000${prefix}`;
      const seen = memo ? this.#subtrees.get(key) : undefined;
      if (seen) {
        keep(key);
        return { key, ...seen };
      }
      const files: GitFileEntry[] = [];
      const children: string[] = [];
      // Git orders a tree's entries as if directory names ended in "/", not by plain path: note when that differs,
      // per subtree (so an unchanged subtree is never checked again).
      let sorted = true;
      const append = (f: GitFileEntry): void => {
        if (sorted && files.length > 0 && files[files.length - 1]!.path > f.path) sorted = false;
        files.push(f);
      };
      for (const e of await this.#tree(treeOid)) {
        if (e.path.startsWith('.')) continue;
        const p = prefix === '' ? e.path : `${prefix}/${e.path}`;
        if (e.type === 'tree') {
          const sub = await walk(e.oid, p);
          children.push(sub.key);
          if (sub.files.length === 0) continue;
          sorted &&= sub.sorted;
          append(sub.files[0]!);
          for (let i = 1; i < sub.files.length; i++) files.push(sub.files[i]!);
        } else if (e.type === 'blob' && (opts.include ? opts.include(p) : true)) append({ path: p, id: e.oid, mode: e.mode });
      }
      if (memo) next.set(key, { files, children, sorted });
      return { key, files, children, sorted };
    };
    const root = await walk(rootTree, '');
    if (memo) this.#subtrees = next;
    // Sorted by plain path; a copy when it must be sorted here (walks are shared).
    const out = root.sorted ? root.files : [...root.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (memo) {
      if (this.#listings.size >= 4) this.#listings.delete(this.#listings.keys().next().value as string);
      this.#listings.set(rootTree, out);
    }
    return out;
  }

  async readBlob(oid: string): Promise<Uint8Array> {
    const r = await git.readBlob({ fs, gitdir: this.gitdir, oid, cache: this.cache });
    return r.blob;
  }

  /**
   * A reader over one commit (structurally the repo loader's `FileReader`): `list` gives blob ids as content ids,
   * `read` reads a blob. Symlinks are listed and refused on read (`file-read`), as a directory reader would.
   */
  reader(commit: string, opts: GitFileReaderOptions = {}): GitFileReader {
    return new GitFileReader(this, commit, opts);
  }
}

/** The files under one subtree of a walk (never mutated), its child subtrees' keys, and whether it is in path order. */
type Subtree = { files: GitFileEntry[]; children: string[]; sorted: boolean };

export class GitFileReader {
  #source: GitSource;
  #commit: string;
  #opts: GitFileReaderOptions;
  #files: GitFileEntry[] | undefined;

  constructor(source: GitSource, commit: string, opts: GitFileReaderOptions) {
    this.#source = source;
    this.#commit = commit;
    this.#opts = opts;
  }

  get commit(): string {
    return this.#commit;
  }

  async list(opts: { signal?: AbortSignal } = {}): Promise<{ path: string; id: string }[]> {
    const files = await this.#source.listFiles(this.#commit, { ...this.#opts, ...opts });
    this.#files = files;
    return files;
  }

  async read(path: string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    opts.signal?.throwIfAborted();
    if (!this.#files) await this.list(opts);
    const f = findByPath(this.#files!, path);
    if (!f) throw new GoughError('file-read', `Cannot read "${path}": not in commit "${this.#commit.slice(0, 12)}"`);
    if (f.mode === '120000') throw new GoughError('file-read', `Cannot read "${path}": it is a symbolic link`);
    const blob = await this.#source.readBlob(f.id);
    if (this.#opts.maxBytes !== undefined && blob.byteLength > this.#opts.maxBytes)
      throw new GoughError('yaml-limit', `Cannot read "${path}": ${blob.byteLength} bytes is over the limit of ${this.#opts.maxBytes}`);
    return blob;
  }
}

/** Binary search in a listing sorted by path (`listFiles` sorts): a read of one file costs no pass over the tree. */
function findByPath(files: readonly GitFileEntry[], path: string): GitFileEntry | undefined {
  let lo = 0;
  let hi = files.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const p = files[mid]!.path;
    if (p === path) return files[mid];
    if (p < path) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
