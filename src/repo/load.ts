/**
 * loadRepo: a tree of YAML files → DesiredState + every diagnostic of the repository in one run.
 * Per-file work (parse, schema, literal secrets) is cached by content id; cross-file checks (names, MACs, IPs,
 * BMCs, hostnames, references, selectors) run every time and are linear in the number of hosts.
 *
 * A long-running caller keeps a `LoadMemo`: the result is a pure function of the files' contents, so a listing
 * whose content ids match the memo's (or the parse cache's stored result) returns that result with the new
 * revision, and a host whose document, site and template are the same objects as last time is not rendered again.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import {
  type DesiredState,
  type Diagnostic,
  GoughError,
  type Host,
  isTimeZone,
  type Kind,
  matchesSelector,
  type Policy,
  type RenderedHost,
  type RepoConfigSpec,
  type Severity,
  type Site,
  type SourcePos,
  type Template,
  windowProblem,
} from '../model/index.js';
import { sortDiagnostics } from './diagnostics.js';
import { globToRegExp, matchesAnyGlob } from './glob.js';
import type { FilePos, ParsedDoc, ParsedFile } from './parse.js';
import { parseFile } from './parse.js';
import { parseEntries } from './parse-pool.js';
import { type LoadIndex, loadIncremental, type RenderMemo, renderMemoized } from './incremental.js';
import { type Located, keysOf, sourceOf, where } from './located.js';
import { plainMap } from './overlay-map.js';
import { describePath, toPointer } from './pointer.js';
import { dirReader, type FileEntry, type FileReader, isHiddenPath, isYamlPath } from './reader.js';

/** Parsed files by content id (e.g. Git blob sha); a Git source keeps one on disk. */
export interface ParseCache {
  get(id: string): ParsedFile | undefined;
  set(id: string, f: ParsedFile): void;
  /** A whole load's result by the fingerprint of its files' content ids (optional: a disk cache keeps the latest). */
  getResult?(fingerprint: string): LoadResult | undefined;
  /**
   * Keeps the latest result. Both are given lazily: the loader's answer does not wait for the fingerprint (a hash
   * of every listed file) or for a storable copy of the result; a disk cache asks for them when it writes, idle.
   */
  setResult?(fingerprint: () => string, r: () => LoadResult): void;
}

/** What a long-running loader keeps between loads of the same repository (see the file comment). */
export class LoadMemo {
  /** The last result, the files it was loaded from, and its index (only when it had no diagnostic). */
  last: { entries: readonly FileEntry[]; result: LoadResult; index?: LoadIndex } | undefined;
  readonly renders: RenderMemo = new WeakMap();
  /** Loads answered without parsing or rendering anything (for tests and metrics). */
  reused = 0;
  /** Loads answered by the incremental path (incremental.ts). */
  incremental = 0;
  /**
   * After a load answered by the incremental path: the hosts its commit added or edited (a daemon plans them first).
   * Undefined after any other load: the change was not host-only, or not known host by host.
   */
  changed: readonly Host[] | undefined;
}

export type LoadOptions = {
  revision: string;
  cache?: ParseCache;
  memo?: LoadMemo;
  signal?: AbortSignal;
  /**
   * With a memo whose last result was reused from the parse cache's store (a restart): load in full anyway, so the
   * memo gets the index the next commit's incremental load needs. A daemon does this when idle after a restart.
   */
  index?: boolean;
};
export type LoadResult = {
  desired: DesiredState;
  /** Sorted by file, line, column, code. Any error means the revision must not be applied. */
  diagnostics: Diagnostic[];
  /** Number of YAML files read (after RepoConfig.ignore). */
  files: number;
};

/** The position of a node in a file parsed without positions: resolved by an exact re-parse at the end. */
type Lazy = { l: Located<unknown>; path: readonly (string | number)[] };

export async function loadRepo(reader: FileReader, opts: LoadOptions): Promise<LoadResult> {
  const { signal } = opts;
  const { entries, complete } = listed(await reader.list(signal ? { signal } : {}));
  const memo = opts.memo;
  if (memo) memo.changed = undefined;
  // Without a content id for every file nothing is reused: neither results nor the incremental path.
  if (!complete) return (await loadEntries(reader, entries, opts)).result;
  const last = memo?.last;
  const indexing = opts.index === true && memo !== undefined && last?.index === undefined;
  if (!indexing) {
    // The same files as the last load (say, a README edit): its result holds, and its index (the next host-only
    // commit stays incremental). In a new process, the result stored for the same files.
    const hit = last !== undefined ? (sameEntries(last.entries, entries) ? last.result : undefined) : opts.cache?.getResult?.(fingerprintOf(entries));
    if (hit) {
      if (memo) {
        if (last === undefined) memo.last = { entries, result: hit };
        memo.reused++;
      }
      return { ...hit, desired: { ...hit.desired, revision: opts.revision } };
    }
  }
  // Only a clean load has an index (see LoadMemo.last).
  if (memo !== undefined && last?.index !== undefined) {
    const inc = await loadIncremental({
      index: last.index,
      desired: last.result.desired,
      filesCounted: last.result.files,
      entries,
      reader,
      revision: opts.revision,
      renders: memo.renders,
      cache: opts.cache,
      signal,
    });
    if (inc !== undefined) {
      const result: LoadResult = { desired: inc.desired, diagnostics: [], files: inc.files };
      memo.last = { entries, result, index: inc.index };
      memo.changed = inc.changed;
      memo.incremental++;
      store(opts.cache, entries, result);
      return result;
    }
  }
  const { result, index } = await loadEntries(reader, entries, opts);
  if (memo) memo.last = index === undefined ? { entries, result } : { entries, result, index };
  store(opts.cache, entries, result);
  return result;
}

/** The YAML files of a listing, paths normalised, sorted by path; `complete` when every one has a content id. */
function listed(all: readonly FileEntry[]): { entries: FileEntry[]; complete: boolean } {
  const entries: FileEntry[] = [];
  let complete = true;
  let sorted = true;
  for (const raw of all) {
    const e = raw.path.startsWith('./') ? { ...raw, path: raw.path.replace(/^(\.\/)+/, '') } : raw;
    if (!isYamlPath(e.path) || isHiddenPath(e.path)) continue;
    if (e.id === undefined) complete = false;
    if (sorted && entries.length > 0 && entries[entries.length - 1]!.path > e.path) sorted = false;
    entries.push(e);
  }
  if (!sorted) entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, complete };
}

/** Same paths and content ids (a Git source hands out the same entry objects for unchanged subtrees). */
function sameEntries(a: readonly FileEntry[], b: readonly FileEntry[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && (x.path !== y.path || x.id !== y.id)) return false;
  }
  return true;
}

/** Hands the result to the cache's store, lazily (see ParseCache.setResult): with plain maps, which serialize. */
function store(cache: ParseCache | undefined, entries: readonly FileEntry[], result: LoadResult): void {
  cache?.setResult?.(
    () => fingerprintOf(entries),
    () => ({ ...result, desired: { ...result.desired, rendered: plainMap(result.desired.rendered), sources: plainMap(result.desired.sources) } }),
  );
}

/** A digest of every listed path and content id (every entry has one: see `listed`). */
function fingerprintOf(entries: readonly FileEntry[]): string {
  const h = createHash('sha256');
  for (const e of entries) h.update(`${e.path}\u0000${e.id}\n`);
  return h.digest('hex');
}

async function loadEntries(
  reader: FileReader,
  entries: readonly FileEntry[],
  opts: LoadOptions,
): Promise<{ result: LoadResult; index?: LoadIndex }> {
  const { signal } = opts;
  const parsed = await parseEntries(reader, entries, { cache: opts.cache, signal });

  const diagnostics: Diagnostic[] = [];
  const fixups: { d: Diagnostic; lazy: Lazy }[] = [];
  const add = (file: string, at: FilePos | Lazy, code: string, message: string, severity: Severity = 'error'): void => {
    const exact = Array.isArray(at);
    const d: Diagnostic = { file, line: exact ? at[0] : 0, col: exact ? at[1] : 0, severity, code, message };
    diagnostics.push(d);
    if (!exact) fixups.push({ d, lazy: at });
  };

  // RepoConfig first: its ignore globs decide which files count.
  let config: RepoConfigSpec = {};
  let configAt: { file: string; doc: ParsedDoc } | undefined;
  for (let i = 0; i < entries.length; i++) {
    for (const doc of parsed[i]!.docs) {
      if (doc.kind !== 'RepoConfig') continue;
      const file = entries[i]!.path;
      if (configAt) {
        add(
          file,
          doc.at,
          'repo-config',
          `Only one RepoConfig is allowed per repository: another is at ${where(configAt.file, configAt.doc.at)}`,
        );
      } else {
        configAt = { file, doc };
        if (doc.valid) config = (doc.data as { spec: RepoConfigSpec }).spec;
      }
    }
  }
  const ignore = (config.ignore ?? []).map(globToRegExp);

  const byKind = {
    Site: [] as Located<Site>[],
    Host: [] as Located<Host>[],
    Template: [] as Located<Template>[],
    Policy: [] as Located<Policy>[],
  };
  const names: Record<Kind, Map<string, { file: string; at: FilePos }>> = {
    Site: new Map(),
    Host: new Map(),
    Template: new Map(),
    Policy: new Map(),
    RepoConfig: new Map(),
  };
  let files = 0;
  /** Per entry: holds Host documents only (the incremental path may replace it); false when ignored. */
  const hostOnly = new Uint8Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const file = entries[i]!.path;
    if (ignore.length > 0 && configAt?.file !== file && matchesAnyGlob(file, ignore)) continue;
    files++;
    const pf = parsed[i]!;
    hostOnly[i] = pf.docs.every((d) => d.kind === 'Host') ? 1 : 0;
    for (const d of pf.diagnostics) diagnostics.push({ file, ...d });
    for (const doc of pf.docs) {
      if (doc.kind === 'RepoConfig') continue;
      if (doc.name !== undefined) {
        const first = names[doc.kind].get(doc.name);
        if (first) {
          add(
            file,
            doc.at,
            'duplicate-name',
            `Duplicate ${doc.kind} name "${doc.name}": first defined at ${where(first.file, first.at)}`,
          );
          continue;
        }
        names[doc.kind].set(doc.name, { file, at: doc.at });
      }
      if (!doc.valid) continue;
      (byKind[doc.kind] as Located<unknown>[]).push({ res: doc.data, file, doc, index: i });
    }
  }

  const posIn = (l: Located<unknown>, path: readonly (string | number)[]): FilePos | Lazy =>
    parsed[l.index]!.exact ? lookup(l.doc, path) : { l, path };

  // Hosts: references and uniqueness.
  const sites = new Map(byKind.Site.map((s) => [s.res.metadata.name, s]));
  const templates = new Map(byKind.Template.map((t) => [t.res.metadata.name, t]));
  const macs = new Map<string, Located<Host>>();
  const ips = new Map<string, Located<Host>>();
  const bmcs = new Map<string, Located<Host>>();
  const hostnames = new Map<string, Located<Host>>();
  const renderable: Located<Host>[] = [];
  /** Claims `key` for `h`; on a duplicate, reports it at `path` (built only then). */
  const claim = (
    map: Map<string, Located<Host>>,
    key: string,
    h: Located<Host>,
    path: () => (string | number)[],
    code: string,
    what: string,
  ): void => {
    const first = map.get(key);
    if (first === undefined) {
      map.set(key, h);
      return;
    }
    add(
      h.file,
      posIn(h, path()),
      code,
      `${what} "${key}" is already used by host "${first.res.metadata.name}" (${where(first.file, first.doc.at)})`,
    );
  };
  for (const h of byKind.Host) {
    const spec = h.res.spec;
    const name = h.res.metadata.name;
    let ok = true;
    if (!sites.has(spec.site) && !names.Site.has(spec.site)) {
      add(
        h.file,
        posIn(h, ['spec', 'site']),
        'unknown-site',
        `Host "${name}" names site "${spec.site}", which is not defined${known(sites)}`,
      );
      ok = false;
    } else if (!sites.has(spec.site)) ok = false; // the site exists but is invalid: reported there
    if (spec.template !== undefined && !templates.has(spec.template)) {
      if (!names.Template.has(spec.template)) {
        add(
          h.file,
          posIn(h, ['spec', 'template']),
          'unknown-template',
          `Host "${name}" names template "${spec.template}", which is not defined${known(templates)}`,
        );
      }
      ok = false;
    }
    const k = keysOf(h.res);
    const hw = spec.hardware.macs;
    for (let i = 0; i < hw.length; i++) {
      claim(macs, hw[i]!, h, () => ['spec', 'hardware', 'macs', i], 'duplicate-mac', 'MAC');
    }
    if (k.ip !== undefined) claim(ips, k.ip, h, () => ['spec', 'network', 'address'], 'duplicate-ip', 'IP address');
    if (k.bmc !== undefined) claim(bmcs, k.bmc, h, () => ['spec', 'hardware', 'bmc', 'address'], 'duplicate-bmc', 'BMC');
    claim(
      hostnames,
      k.hostname,
      h,
      () => (spec.hostname !== undefined ? ['spec', 'hostname'] : ['metadata', 'name']),
      'duplicate-hostname',
      'Hostname',
    );
    if (ok) renderable.push(h);
  }

  // Policies: selectors must match something; named sites must exist.
  const hosts = byKind.Host.map((h) => h.res);
  // Time zones and maintenance windows the schema cannot check (a window that does not parse is never open).
  for (const st of byKind.Site) {
    const tz = st.res.spec.timezone;
    if (tz !== undefined && !isTimeZone(tz))
      add(st.file, posIn(st, ['spec', 'timezone']), 'schema', `Site "${st.res.metadata.name}": unknown time zone "${tz}"`);
  }
  for (const p of byKind.Policy) {
    (p.res.spec.maintenanceWindows ?? []).forEach((w, i) => {
      const problem = windowProblem(w);
      if (problem === undefined) return;
      add(
        p.file,
        posIn(p, ['spec', 'maintenanceWindows', i, problem.field]),
        'schema',
        `Maintenance window ${i + 1} of policy "${p.res.metadata.name}": ${problem.message}`,
      );
    });
  }
  for (const p of byKind.Policy) {
    const sel = p.res.spec.selector;
    (sel.sites ?? []).forEach((s, i) => {
      if (!names.Site.has(s)) {
        add(
          p.file,
          posIn(p, ['spec', 'selector', 'sites', i]),
          'unknown-site',
          `Policy "${p.res.metadata.name}" selects site "${s}", which is not defined${known(sites)}`,
        );
      }
    });
    if (!hosts.some((h) => matchesSelector(sel, h))) {
      add(
        p.file,
        posIn(p, ['spec', 'selector']),
        'selector-matches-nothing',
        `Policy "${p.res.metadata.name}" selects no host: check its selector`,
        'warning',
      );
    }
  }

  // Rendering: every host whose site and template resolve.
  const rendered = new Map<string, RenderedHost>();
  const reportedSyntax = new Set<string>();
  const renders = opts.memo?.renders;
  for (const h of renderable) {
    const site = sites.get(h.res.spec.site)!.res;
    const tl = h.res.spec.template !== undefined ? templates.get(h.res.spec.template) : undefined;
    const r = renderMemoized(renders, h.res, site, tl?.res, opts.revision);
    if (r.ok) {
      rendered.set(h.res.metadata.name, r.rendered);
      continue;
    }
    for (const e of r.errors) {
      const tAt = tl ? `${describePath(e.field)} (${where(tl.file, lookup(tl.doc, e.field))})` : describePath(e.field);
      if (e.code === 'template-var') {
        add(
          h.file,
          posIn(h, ['spec', 'template']),
          'template-var',
          `${e.message}: used at ${tAt}; set it in spec.vars or give the template variable a default`,
        );
      } else {
        const key = `${e.template}\u0000${toPointer(e.field)}`;
        if (reportedSyntax.has(key)) continue;
        reportedSyntax.add(key);
        if (tl) add(tl.file, posIn(tl, e.field), 'template-syntax', e.message);
        else add(h.file, posIn(h, ['spec', 'template']), 'template-syntax', e.message);
      }
    }
  }

  const sources = new Map<string, SourcePos>();
  for (const kind of ['Site', 'Host', 'Template', 'Policy'] as const) {
    for (const l of byKind[kind] as Located<unknown>[]) {
      const src = sourceOf(kind, l.doc, l.file);
      sources.set(src.key, src.pos);
    }
  }
  if (configAt?.doc.valid)
    sources.set(`RepoConfig/${configAt.doc.name}`, {
      file: configAt.file,
      line: configAt.doc.at[0],
      col: configAt.doc.at[1],
    });

  const desired: DesiredState = {
    revision: opts.revision,
    sites: byKind.Site.map((s) => s.res),
    hosts,
    templates: byKind.Template.map((t) => t.res),
    policies: byKind.Policy.map((p) => p.res),
    config,
    rendered,
    sources,
  };
  await resolvePositions(fixups, entries, reader, signal);
  const result: LoadResult = { desired, diagnostics: sortDiagnostics(diagnostics), files };
  if (opts.memo === undefined || diagnostics.length > 0) return { result };
  // Clean: keep what the next load needs to check only what changes (incremental.ts).
  const perEntry: Located<Host>[][] = entries.map(() => []);
  for (const h of byKind.Host) perEntry[h.index]!.push(h);
  const index: LoadIndex = {
    entries,
    files: perEntry.map((hs, i) => ({ hosts: hs, hostOnly: hostOnly[i] === 1 })),
    ignore,
    hostNames: names.Host,
    sites,
    templates,
    policies: desired.policies,
    macs,
    ips,
    bmcs,
    hostnames,
  };
  return { result, index };
}

/**
 * Loads a working directory (revision `worktree`). Throws `GoughError('file-read')` when `root` is not a
 * readable directory; everything wrong inside it is a diagnostic.
 */
export async function loadDirectory(root: string, opts: Partial<LoadOptions> = {}): Promise<LoadResult> {
  const st = await stat(root).catch((e: NodeJS.ErrnoException) => {
    throw new GoughError(
      'file-read',
      `Cannot read directory "${root}": ${e.code === 'ENOENT' ? 'it does not exist' : (e.code ?? e.message)}`,
      { cause: e },
    );
  });
  if (!st.isDirectory()) throw new GoughError('file-read', `Cannot read directory "${root}": not a directory`);
  return loadRepo(dirReader(root), { revision: 'worktree', ...opts });
}

/** The position of `path` in a document: the deepest recorded ancestor, else the document's name. */
function lookup(doc: ParsedDoc, path: readonly (string | number)[]): FilePos {
  for (let n = path.length; n >= 0; n--) {
    const p = doc.pos[toPointer(path.slice(0, n))];
    if (p) return p;
  }
  return doc.at;
}

/** Places diagnostics of fast-parsed files: re-reads each such file once and parses it with positions. */
async function resolvePositions(
  fixups: readonly { d: Diagnostic; lazy: Lazy }[],
  entries: readonly FileEntry[],
  reader: FileReader,
  signal: AbortSignal | undefined,
): Promise<void> {
  const exact = new Map<number, ParsedFile | undefined>();
  for (const { d, lazy } of fixups) {
    const i = lazy.l.index;
    if (!exact.has(i)) {
      try {
        exact.set(i, parseFile(await reader.read(entries[i]!.path, signal ? { signal } : {}), { exact: true }));
      } catch {
        exact.set(i, undefined);
      }
    }
    const pf = exact.get(i);
    const doc = pf?.docs.find((x) => x.kind === lazy.l.doc.kind && x.name === lazy.l.doc.name) ?? lazy.l.doc;
    [d.line, d.col] = lookup(doc, lazy.path);
  }
}


function known(m: Map<string, unknown>): string {
  if (m.size === 0) return '';
  const list = [...m.keys()].sort();
  return ` (known: ${list.slice(0, 8).join(', ')}${list.length > 8 ? ', …' : ''})`;
}
