/**
 * Writes one site's folder (`status/<site>/`) on the status branch. Trees and commits are built straight from
 * objects (no work tree). For a remote: fetch the branch tip, replace only this site's folder, commit, push; a
 * non-fast-forward rejection (another site pushed first) is fetched, re-applied and retried. When the remote is
 * down the newest files are kept and pushed by the next `write` or `flush` (newest state wins). For a local
 * repository the branch ref is updated in place.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { GoughError, scrubSecrets } from '../model/index.js';
import { writeLooseBlobs } from './loose-objects.js';
import type { GitSource } from './source.js';

type TreeEntry = { mode: string; path: string; oid: string; type: 'blob' | 'tree' | 'commit' };

export type StatusWriteResult = { commit: string; changed: boolean; pushed: boolean };

export type GitStatusWriterOptions = {
  /** Branch name, default `gough/status`. */
  branch?: string;
  site: string;
  author?: { name: string; email: string };
  /** Attempts on non-fast-forward rejections. */
  maxAttempts?: number;
};

function gitNameOrder(a: TreeEntry, b: TreeEntry): number {
  const ka = a.type === 'tree' ? `${a.path}/` : a.path;
  const kb = b.type === 'tree' ? `${b.path}/` : b.path;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function validName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0');
}

export class GitStatusWriter {
  #source: GitSource;
  readonly branch: string;
  readonly site: string;
  #author: { name: string; email: string };
  #maxAttempts: number;
  #pending: { files: Map<string, string>; message: string } | undefined;
  /** Blob ids of the files last written, by name: a file whose content did not change is not hashed and written again. */
  #blobs = new Map<string, { content: string; oid: string }>();
  #lock: Promise<unknown> = Promise.resolve();
  lastCommit: string | undefined;
  lastError: GoughError | undefined;

  constructor(source: GitSource, opts: GitStatusWriterOptions) {
    if (!validName(opts.site)) throw new GoughError('config-error', `Cannot write status: site name "${opts.site}" is not a folder name`);
    this.#source = source;
    this.branch = opts.branch ?? 'gough/status';
    this.site = opts.site;
    this.#author = opts.author ?? { name: 'gough', email: 'gough@localhost' };
    this.#maxAttempts = opts.maxAttempts ?? 8;
  }

  /** True while files wait to be pushed (the remote was down). */
  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * Replaces `status/<site>/` with `files` (name → content) in one commit. Resolves `changed: false` when the
   * branch already holds exactly these files. Rejects (retryable) when the remote cannot be reached; the files
   * are then kept and pushed by the next call.
   */
  write(files: ReadonlyMap<string, string>, message: string, opts: { signal?: AbortSignal } = {}): Promise<StatusWriteResult> {
    for (const name of files.keys())
      if (!validName(name)) throw new GoughError('internal', `Cannot write status file "${name}": not a plain file name`);
    this.#pending = { files: new Map(files), message };
    return this.flush(opts) as Promise<StatusWriteResult>;
  }

  /** Pushes kept files, if any. */
  flush(opts: { signal?: AbortSignal } = {}): Promise<StatusWriteResult | undefined> {
    const run = this.#lock.then(() => this.#flush(opts));
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #flush(opts: { signal?: AbortSignal }): Promise<StatusWriteResult | undefined> {
    const p = this.#pending;
    if (!p) return undefined;
    try {
      const once = () => (this.#source.isRemote ? this.#writeRemote(p.files, p.message, opts) : this.#writeLocal(p.files, p.message));
      let r: StatusWriteResult;
      try {
        r = await once();
      } catch (e) {
        // A pooled keep-alive connection to a remote that went away and came back fails once: try again at once.
        const code = (e as { code?: string }).code;
        if (code !== 'ECONNRESET' && code !== 'EPIPE') throw e;
        r = await once();
      }
      if (this.#pending === p) this.#pending = undefined;
      this.lastCommit = r.commit;
      this.lastError = undefined;
      return r;
    } catch (e) {
      const err =
        e instanceof GoughError
          ? e
          : new GoughError('git-error', `Cannot push status to "${this.#source.displayUrl}": ${scrubSecrets((e as Error).message)}`, {
              retry: { kind: 'backoff' },
              cause: e,
            });
      this.lastError = err;
      throw err;
    }
  }

  async #treeEntries(oid: string | undefined): Promise<TreeEntry[]> {
    if (!oid) return [];
    return (await git.readTree({ fs, gitdir: this.#source.gitdir, oid, cache: this.#source.cache })).tree as TreeEntry[];
  }

  async #writeTree(entries: TreeEntry[]): Promise<string> {
    return git.writeTree({ fs, gitdir: this.#source.gitdir, tree: [...entries].sort(gitNameOrder) });
  }

  /** The root tree of `base` with `status/<site>/` replaced by `files`. */
  async #buildTree(base: string | undefined, files: ReadonlyMap<string, string>): Promise<{ tree: string; baseTree?: string }> {
    const gitdir = this.#source.gitdir;
    const baseTree = base ? (await git.readCommit({ fs, gitdir, oid: base, cache: this.#source.cache })).commit.tree : undefined;
    const sorted = [...files].sort(([a], [b]) => (a < b ? -1 : 1));
    // Files whose content this writer wrote before are in the object store (referenced from the branch): only the
    // others are hashed and written.
    const fresh = sorted.filter(([name, content]) => this.#blobs.get(name)?.content !== content);
    const enc = new TextEncoder();
    const ids = await writeLooseBlobs(
      gitdir,
      fresh.map(([, content]) => enc.encode(content)),
    );
    const freshIds = new Map(fresh.map(([name], i) => [name, ids[i]!]));
    const siteEntries: TreeEntry[] = [];
    const blobs = new Map<string, { content: string; oid: string }>();
    for (const [name, content] of sorted) {
      const oid = freshIds.get(name) ?? this.#blobs.get(name)!.oid;
      blobs.set(name, { content, oid });
      siteEntries.push({ mode: '100644', path: name, oid, type: 'blob' });
    }
    this.#blobs = blobs;
    const root = await this.#treeEntries(baseTree);
    const statusEntry = root.find((e) => e.path === 'status' && e.type === 'tree');
    const statusEntries = (await this.#treeEntries(statusEntry?.oid)).filter((e) => e.path !== this.site);
    if (siteEntries.length > 0) statusEntries.push({ mode: '040000', path: this.site, oid: await this.#writeTree(siteEntries), type: 'tree' });
    const newRoot = root.filter((e) => e.path !== 'status');
    if (statusEntries.length > 0) newRoot.push({ mode: '040000', path: 'status', oid: await this.#writeTree(statusEntries), type: 'tree' });
    const tree = await this.#writeTree(newRoot);
    return baseTree === undefined ? { tree } : { tree, baseTree };
  }

  async #commit(tree: string, parent: string | undefined, message: string): Promise<string> {
    const timestamp = Math.floor(Date.now() / 1000);
    const who = { ...this.#author, timestamp, timezoneOffset: 0 };
    return git.writeCommit({
      fs,
      gitdir: this.#source.gitdir,
      commit: { message: message.endsWith('\n') ? message : `${message}\n`, tree, parent: parent ? [parent] : [], author: who, committer: who },
    });
  }

  async #writeLocal(files: ReadonlyMap<string, string>, message: string): Promise<StatusWriteResult> {
    const gitdir = this.#source.gitdir;
    const ref = `refs/heads/${this.branch}`;
    let base: string | undefined;
    try {
      base = await git.resolveRef({ fs, gitdir, ref });
    } catch {
      base = undefined;
    }
    const { tree, baseTree } = await this.#buildTree(base, files);
    if (base && tree === baseTree) return { commit: base, changed: false, pushed: false };
    const commit = await this.#commit(tree, base, message);
    await git.writeRef({ fs, gitdir, ref, value: commit, force: true });
    return { commit, changed: true, pushed: false };
  }

  async #remoteTip(): Promise<string | undefined> {
    const onAuth = this.#source.onAuth();
    const url = this.#source.url!;
    const refs = await git.listServerRefs({ http, url, prefix: `refs/heads/${this.branch}`, ...(onAuth ? { onAuth } : {}) });
    const tip = refs.find((r) => r.ref === `refs/heads/${this.branch}`)?.oid;
    if (!tip) return undefined;
    try {
      await git.fetch({
        fs,
        http,
        gitdir: this.#source.gitdir,
        remote: 'origin',
        ref: this.branch,
        singleBranch: true,
        tags: false,
        cache: this.#source.cache,
        ...(onAuth ? { onAuth } : {}),
      });
    } catch (e) {
      // A remote whose HEAD names a missing branch: isomorphic-git fails after it stored the objects and refs.
      const err = e as { code?: string; data?: { what?: string } };
      if (!(err.code === 'NotFoundError' && err.data?.what === 'HEAD')) throw e;
    }
    return tip;
  }

  async #writeRemote(files: ReadonlyMap<string, string>, message: string, opts: { signal?: AbortSignal }): Promise<StatusWriteResult> {
    const gitdir = this.#source.gitdir;
    const onAuth = this.#source.onAuth();
    for (let attempt = 1; ; attempt++) {
      opts.signal?.throwIfAborted();
      const base = await this.#remoteTip();
      const { tree, baseTree } = await this.#buildTree(base, files);
      if (base && tree === baseTree) return { commit: base, changed: false, pushed: true };
      const commit = await this.#commit(tree, base, message);
      await git.writeRef({ fs, gitdir, ref: `refs/heads/${this.branch}`, value: commit, force: true });
      try {
        const r = await git.push({
          fs,
          http,
          gitdir,
          remote: 'origin',
          ref: this.branch,
          remoteRef: this.branch,
          cache: this.#source.cache,
          ...(onAuth ? { onAuth } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        if (r.ok) return { commit, changed: true, pushed: true };
        const why = Object.values(r.refs)
          .map((x) => x.error)
          .filter(Boolean)
          .join('; ');
        if (attempt >= this.#maxAttempts)
          throw new GoughError('git-error', `Cannot push status to "${this.#source.displayUrl}": ${why || 'rejected'}`, { retry: { kind: 'backoff' } });
      } catch (e) {
        // Non-fast-forward seen by the client, or the server lost the ref-update race to another site.
        const code = (e as { code?: string }).code;
        const rejected = code === 'PushRejectedError' || code === 'GitPushError';
        if (!rejected || attempt >= this.#maxAttempts) throw e;
      }
      // Someone else (another site) pushed first: fetch, re-apply, retry.
      await sleep(20 + Math.floor(Math.random() * 80 * attempt));
    }
  }
}
