/**
 * The loader's fast path for the commit a running daemon sees most: a few Host files edited, added or removed in a
 * repository that loaded clean. Instead of re-checking every host (names, MACs, IPs, BMCs, hostnames, references,
 * selectors: linear in the fleet), it checks only the changed hosts against the indexes the last load kept, and
 * renders only them.
 *
 * It gives an answer only when the answer is certain to equal a full load's: the last load had no diagnostic at
 * all, every changed file (before and after) holds only valid Host documents, no changed path is ignored by the
 * RepoConfig, and the changed hosts break no rule. Anything else (a conflict, a render error, a Site or Template
 * edit, a policy left selecting nothing) returns undefined and the caller runs the full load, which reports it.
 * `test/unit/repo/incremental.test.ts` checks the equality against full loads over random edit sequences.
 */
import type { DesiredState, Host, Policy, RenderedHost, Site, SourcePos, Template } from '../model/index.js';
import { matchesSelector } from '../model/index.js';
import { type RenderResult, renderHost } from '../render/index.js';
import { matchesAnyGlob } from './glob.js';
import type { ParseCache } from './load.js';
import { type Located, keysOf, sourceOf } from './located.js';
import type { FilePos, ParsedFile } from './parse.js';
import { patchMap } from './overlay-map.js';
import { parseEntries } from './parse-pool.js';
import type { FileEntry, FileReader } from './reader.js';

/** Renders by the identity of their inputs (parsed documents are immutable; unchanged blobs give the same objects). */
export type RenderMemo = WeakMap<Host, { site: Site; template: Template | undefined; result: RenderResult }>;

/** `renderHost`, or its earlier answer when the host, site and template are the very objects it had then. */
export function renderMemoized(
  renders: RenderMemo | undefined,
  host: Host,
  site: Site,
  template: Template | undefined,
  revision: string,
): RenderResult {
  const seen = renders?.get(host);
  if (seen !== undefined && seen.site === site && seen.template === template) return seen.result;
  const result = renderHost({ host, site, template, revision });
  renders?.set(host, { site, template, result });
  return result;
}

/** One listed file as the last clean load saw it. */
export type IndexedFile = {
  /** Its valid Host documents, in document order. */
  hosts: readonly Located<Host>[];
  /** True when the file holds Host documents only (or none) and counts (not ignored, not the RepoConfig). */
  hostOnly: boolean;
};

/**
 * What a clean load knows beyond its result, for the next load to start from. The maps are the full load's own and
 * are updated in place by each incremental load (a load index has one owner, the `LoadMemo`); the result's maps
 * (`rendered`, `sources`) are copied, never mutated, since results are handed out. `Located.index` of a reused host
 * may be stale: nothing here reads it.
 */
export type LoadIndex = {
  entries: readonly FileEntry[];
  files: readonly IndexedFile[];
  ignore: readonly RegExp[];
  hostNames: Map<string, { file: string; at: FilePos }>;
  sites: ReadonlyMap<string, Located<Site>>;
  templates: ReadonlyMap<string, Located<Template>>;
  policies: readonly Policy[];
  macs: Map<string, Located<Host>>;
  ips: Map<string, Located<Host>>;
  bmcs: Map<string, Located<Host>>;
  hostnames: Map<string, Located<Host>>;
};

/** More changed files than this take the full path (a bulk change re-checks most of the fleet anyway). */
export const MAX_INCREMENTAL_FILES = 256;

export type IncrementalInput = {
  index: LoadIndex;
  desired: DesiredState;
  filesCounted: number;
  entries: readonly FileEntry[];
  reader: FileReader;
  revision: string;
  renders: RenderMemo;
  cache?: ParseCache | undefined;
  signal?: AbortSignal | undefined;
};

export type IncrementalResult = {
  desired: DesiredState;
  files: number;
  index: LoadIndex;
  /** The hosts the commit added or edited (not those it removed). */
  changed: Host[];
};

const NONE: readonly Located<Host>[] = [];

/** The uniqueness claims a host makes, as [map, key] pairs (the same keys the full load claims). */
function claimsOf(index: LoadIndex, h: Host): [Map<string, Located<Host>>, string][] {
  const k = keysOf(h);
  const out: [Map<string, Located<Host>>, string][] = h.spec.hardware.macs.map((m) => [index.macs, m]);
  if (k.ip !== undefined) out.push([index.ips, k.ip]);
  if (k.bmc !== undefined) out.push([index.bmcs, k.bmc]);
  out.push([index.hostnames, k.hostname]);
  return out;
}

/** The load of `entries` (sorted, every one with a content id) from the last clean load; undefined: load fully. */
export async function loadIncremental(input: IncrementalInput): Promise<IncrementalResult | undefined> {
  const { index, entries } = input;
  const old = index.entries;
  // ---- which files changed: a merge walk of the two sorted listings ---------------------------------------------
  const files: (IndexedFile | undefined)[] = new Array(entries.length);
  const changed: number[] = [];
  const gone: Located<Host>[] = [];
  let added = 0;
  let removed = 0;
  const touch = (path: string): boolean => index.ignore.length > 0 && matchesAnyGlob(path, index.ignore);
  let o = 0;
  for (let n = 0; n < entries.length || o < old.length; ) {
    const e = entries[n];
    const p = old[o];
    if (e === p) {
      // The source hands out the same entry objects for unchanged subtrees: most of a listing takes this branch.
      files[n++] = index.files[o++];
      continue;
    }
    const cmp = e === undefined ? 1 : p === undefined ? -1 : e.path < p.path ? -1 : e.path > p.path ? 1 : 0;
    if (cmp === 0 && e!.id === p!.id) {
      files[n++] = index.files[o++];
      continue;
    }
    if (cmp >= 0) {
      // The old file is gone or changed: it may hold only hosts.
      const f = index.files[o]!;
      if (!f.hostOnly || touch(p!.path)) return undefined;
      gone.push(...f.hosts);
      o++;
      if (cmp > 0) removed++;
    }
    if (cmp <= 0) {
      if (e!.id === undefined || touch(e!.path)) return undefined;
      changed.push(n);
      n++;
      if (cmp < 0) added++;
    }
    if (changed.length + removed > MAX_INCREMENTAL_FILES) return undefined;
  }

  // ---- the changed files: parsed (cache first), Host documents only, all valid -----------------------------------
  const parsed: ParsedFile[] = await parseEntries(
    input.reader,
    changed.map((i) => entries[i]!),
    { cache: input.cache, signal: input.signal },
  );
  const fresh: Located<Host>[] = [];
  for (let c = 0; c < changed.length; c++) {
    const i = changed[c]!;
    const pf = parsed[c]!;
    if (pf.diagnostics.length > 0) return undefined;
    const hosts: Located<Host>[] = [];
    for (const doc of pf.docs) {
      if (doc.kind !== 'Host' || !doc.valid) return undefined;
      hosts.push({ res: doc.data as Host, file: entries[i]!.path, doc, index: i });
    }
    files[i] = { hosts: hosts.length === 0 ? NONE : hosts, hostOnly: true };
    fresh.push(...hosts);
  }

  // ---- checks, read-only: any doubt and the full load decides ---------------------------------------------------
  const goneNames = new Set(gone.map((h) => h.res.metadata.name));
  const owned = (l: Located<Host> | undefined): boolean => l !== undefined && !goneNames.has(l.res.metadata.name);
  const freshNames = new Set<string>();
  /** Keys the changed hosts claim, per claim map. */
  const freshKeys = new Map<Map<string, Located<Host>>, Set<string>>();
  const renders = new Map<string, RenderedHost>();
  for (const h of fresh) {
    const { spec, metadata } = h.res;
    if ((index.hostNames.has(metadata.name) && !goneNames.has(metadata.name)) || freshNames.has(metadata.name)) return undefined;
    freshNames.add(metadata.name);
    const site = index.sites.get(spec.site)?.res;
    if (site === undefined) return undefined;
    const template = spec.template === undefined ? undefined : index.templates.get(spec.template)?.res;
    if (spec.template !== undefined && template === undefined) return undefined;
    for (const [map, key] of claimsOf(index, h.res)) {
      let taken = freshKeys.get(map);
      if (taken === undefined) {
        taken = new Set();
        freshKeys.set(map, taken);
      }
      if (owned(map.get(key)) || taken.has(key)) return undefined;
      taken.add(key);
    }
    const r = renderMemoized(input.renders, h.res, site, template, input.revision);
    if (!r.ok) return undefined;
    renders.set(metadata.name, r.rendered);
  }
  const hosts: Host[] = [];
  for (const f of files) for (const h of f!.hosts) hosts.push(h.res);
  // A policy that selected a host that is gone may now select nothing (a warning the full load gives).
  for (const p of index.policies) {
    const sel = p.spec.selector;
    if (!gone.some((h) => matchesSelector(sel, h.res)) || fresh.some((h) => matchesSelector(sel, h.res))) continue;
    if (!hosts.some((h) => matchesSelector(sel, h))) return undefined;
  }

  // ---- apply: the index in place; the result's maps patched (new maps sharing the old ones, see patchMap) --------
  const goneHosts: string[] = [];
  for (const h of gone) {
    const name = h.res.metadata.name;
    for (const [map, key] of claimsOf(index, h.res)) if (map.get(key)?.res.metadata.name === name) map.delete(key);
    // A host edited in place keeps its place in the maps (set below); only hosts that are gone leave them.
    if (freshNames.has(name)) continue;
    index.hostNames.delete(name);
    goneHosts.push(name);
  }
  const placed: [string, SourcePos][] = [];
  for (const h of fresh) {
    const name = h.res.metadata.name;
    index.hostNames.set(name, { file: h.file, at: h.doc.at });
    for (const [map, key] of claimsOf(index, h.res)) map.set(key, h);
    const src = sourceOf('Host', h.doc, h.file);
    placed.push([src.key, src.pos]);
  }
  const rendered = patchMap(input.desired.rendered, goneHosts, renders);
  const sources = patchMap(input.desired.sources, goneHosts.map((name) => `Host/${name}`), placed);
  const desired: DesiredState = { ...input.desired, revision: input.revision, hosts, rendered, sources };
  return {
    desired,
    files: input.filesCounted + added - removed,
    index: { ...index, entries, files: files as IndexedFile[] },
    changed: fresh.map((h) => h.res),
  };
}
