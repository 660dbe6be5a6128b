/**
 * Parsing one file: bytes → documents as plain data, with the per-document checks (YAML syntax, safety limits,
 * kind/apiVersion, JSON Schema, literal secrets) already done and the positions later stages need kept.
 * The result is JSON-serialisable so a Git source can cache it by blob id.
 */
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import {
  type Alias,
  type Document,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  visit,
} from 'yaml';
import { API_VERSION, GoughError, type Kind, KINDS, type Severity } from '../model/index.js';
import { formatBytes, MAX_ALIAS_COUNT, MAX_DEPTH, MAX_DOCUMENTS, MAX_FILE_BYTES } from './limits.js';
import { describePointer, fromPointer, quoteValue, toPointer } from './pointer.js';
import { type SchemaError, validatorOf } from './schemas.js';
import { findLiteralSecrets } from './secrets.js';
import { parseSimpleYaml } from './simple-yaml.js';

/** 1-based line and column. */
export type FilePos = [line: number, col: number];

export type FileDiagnostic = {
  line: number;
  col: number;
  severity: Severity;
  code: string;
  message: string;
};

export type ParsedDoc = {
  kind: Kind;
  /** metadata.name when it is a string (also for invalid documents, so references to them do not cascade). */
  name?: string;
  /** True when the document passed every per-document check; only then is `data` set. */
  valid: boolean;
  data?: unknown;
  /** Position of metadata.name (or of the document). */
  at: FilePos;
  /** Positions of the nodes cross-file checks and rendering may point at, keyed by JSON Pointer. */
  pos: Record<string, FilePos>;
};

export type ParsedFile = {
  format: 1;
  /**
   * True when `pos` holds exact positions (the file was composed with source ranges). Clean files take a fast
   * path without ranges; the loader re-parses such a file exactly, on demand, when a cross-file diagnostic needs it.
   */
  exact: boolean;
  docs: ParsedDoc[];
  diagnostics: FileDiagnostic[];
};

/** Leading indentation (columns, counting `- ` and `? ` markers) that the pre-scan rejects before parsing. */
const MAX_INDENT = 512;
/** Flow-collection nesting (`[[[…` / `{{{…`) that the pre-scan rejects before parsing. */
const MAX_FLOW_DEPTH = 2 * MAX_DEPTH;

const decoder = new TextDecoder('utf-8', { fatal: true });

export type ParseOptions = {
  /** Compose with source ranges even when the file is clean (the loader asks for it to place a diagnostic). */
  exact?: boolean;
};

export function parseFile(bytes: Uint8Array, opts: ParseOptions = {}): ParsedFile {
  const out: ParsedFile = { format: 1, exact: true, docs: [], diagnostics: [] };
  const fail = (code: string, message: string, line = 1, col = 1): ParsedFile => {
    out.diagnostics.push({ line, col, severity: 'error', code, message });
    return out;
  };
  if (bytes.byteLength > MAX_FILE_BYTES) {
    return fail(
      'yaml-limit',
      `File is ${formatBytes(bytes.byteLength)}, larger than the limit of ${formatBytes(MAX_FILE_BYTES)}: split it into smaller files`,
    );
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const [line, col] = lineColOfByte(bytes, nul);
    return fail('file-read', `Binary file: NUL byte at offset ${nul}; only UTF-8 YAML text is read`, line, col);
  }
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return fail('file-read', 'File is not valid UTF-8: save it as UTF-8');
  }
  const deep = scanNesting(text);
  if (deep) return fail('yaml-limit', deep.message, deep.line, 1);
  if (!opts.exact) {
    const fast = parseFast(text);
    if (fast) return fast;
  }

  const lc = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, {
      lineCounter: lc,
      prettyErrors: true,
      uniqueKeys: true,
    }) as Document.Parsed[];
  } catch (e) {
    if (e instanceof RangeError)
      return fail('yaml-limit', `YAML nesting is too deep: the limit is ${MAX_DEPTH} levels`);
    return fail('yaml-syntax', `YAML does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (docs.length > MAX_DOCUMENTS)
    return fail('yaml-limit', `File has ${docs.length} documents, more than the limit of ${MAX_DOCUMENTS}`);
  const posOf = (offset: number): FilePos => {
    const p = lc.linePos(offset);
    return [p.line, p.col];
  };
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      // The first error of a document is the real one; the parser's follow-up errors are noise.
      const err = doc.errors[0]!;
      const lp = err.linePos?.[0];
      out.diagnostics.push({
        line: lp?.line ?? 1,
        col: lp?.col ?? 1,
        severity: 'error',
        code: err.code === 'RESOURCE_EXHAUSTION' ? 'yaml-limit' : 'yaml-syntax',
        message: yamlMessage(err.message),
      });
      const id = identityOf(doc);
      if (id)
        out.docs.push({ kind: id.kind, name: id.name, valid: false, at: lp ? [lp.line, lp.col] : [1, 1], pos: {} });
      continue;
    }
    parseDocument(doc, posOf, out);
  }
  return out;
}

/**
 * The ParsedFile of a file the reader could not hand over (or that failed to parse unexpectedly): one diagnostic
 * instead of documents — the reader's `file-read` / `yaml-limit` error as it is, anything else as `file-read`.
 */
export function unreadableFile(err: unknown): ParsedFile {
  const code =
    err instanceof GoughError && (err.code === 'yaml-limit' || err.code === 'file-read') ? err.code : 'file-read';
  const message =
    err instanceof GoughError ? err.message : `Cannot read file: ${err instanceof Error ? err.message : String(err)}`;
  return { format: 1, exact: true, docs: [], diagnostics: [{ line: 1, col: 1, severity: 'error', code, message }] };
}

function parseDocument(doc: Document.Parsed, posOf: (offset: number) => FilePos, out: ParsedFile): void {
  const root = doc.contents;
  const rootPos: FilePos = root?.range ? posOf(root.range[0]) : doc.range ? posOf(doc.range[0]) : [1, 1];
  const diag = (code: string, message: string, at: FilePos, severity: Severity = 'error'): void => {
    out.diagnostics.push({ line: at[0], col: at[1], severity, code, message });
  };
  const depthAt = depthExceeded(root);
  if (depthAt) {
    diag(
      'yaml-limit',
      `YAML nesting is deeper than the limit of ${MAX_DEPTH} levels`,
      depthAt.range ? posOf(depthAt.range[0]) : rootPos,
    );
    return;
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    if (e instanceof ReferenceError && /excessive alias/i.test(e.message)) {
      diag(
        'yaml-limit',
        `YAML aliases expand too much (a "billion laughs" document): at most ${MAX_ALIAS_COUNT} alias expansions are allowed`,
        rootPos,
      );
    } else if (e instanceof RangeError) {
      diag('yaml-limit', `YAML nesting is too deep: the limit is ${MAX_DEPTH} levels`, rootPos);
    } else {
      const alias = unresolvedAlias(doc);
      const at = alias?.range ? posOf(alias.range[0]) : rootPos;
      const what = alias
        ? `Alias "*${alias.source}" names no anchor defined before it`
        : `YAML cannot be read: ${e instanceof Error ? yamlMessage(e.message) : String(e)}`;
      diag('yaml-syntax', what, at);
    }
    return;
  }
  if (data === null || data === undefined) return; // empty document (e.g. a trailing `---`)
  const at = (ptr: string, key = false): FilePos => {
    const n = nodeAt(doc, fromPointer(ptr), key);
    return n?.range ? posOf(n.range[0]) : rootPos;
  };
  const a = analyse(data);
  for (const p of a.problems) diag(p.code, p.message, at(p.ptr, p.key));
  if (a.kind === undefined) return;
  const pos: Record<string, FilePos> = {};
  for (const ptr of wantedPointers(a.kind, data as Record<string, unknown>)) {
    const n = nodeAt(doc, fromPointer(ptr), false);
    if (n?.range) pos[ptr] = posOf(n.range[0]);
  }
  if (a.kind === 'Template') recordAll(doc, posOf, pos);
  const entry: ParsedDoc = {
    kind: a.kind,
    valid: a.problems.length === 0,
    at: a.name !== undefined ? at('/metadata/name') : rootPos,
    pos,
  };
  if (a.name !== undefined) entry.name = a.name;
  if (entry.valid) entry.data = data;
  out.docs.push(entry);
}

/** Anchors, aliases and tags: files with them take the exact path (alias limits, exact semantics). */
const ANCHOR_ALIAS_TAG = /(?:^|[\s,[{])[&*!][^\s,\]}]/m;
/** YAML 1.1 leftovers where js-yaml and yaml may read a scalar differently: take the exact path. */
const AMBIGUOUS_SCALAR = /(?:^|[\s,[{:-])[-+]?[0-9][0-9_]*_[0-9_]*(?:[\s,\]}]|$)|:[ \t]+=|<<:/m;

/**
 * The fast path for clean files: js-yaml (core schema, ~10x faster than composing ranges) and the same
 * per-document checks. Returns undefined — the caller then takes the exact path — whenever anything is unusual:
 * a syntax error, anchors/aliases/tags, too deep, any problem in any document, or a name it cannot locate.
 */
function parseFast(text: string): ParsedFile | undefined {
  const simple = parseSimpleYaml(text);
  if (simple) return checkedFast(simple.map((d) => ({ data: d.data, at: d.namePos, depth: d.depth })));
  if (ANCHOR_ALIAS_TAG.test(text)) return undefined;
  if ((text.includes('_') || text.includes('=') || text.includes('<<')) && AMBIGUOUS_SCALAR.test(text))
    return undefined;
  let raw: unknown[];
  try {
    raw = loadAll(text, undefined, { schema: CORE_SCHEMA });
  } catch {
    return undefined;
  }
  if (raw.length > MAX_DOCUMENTS) return undefined;
  const names = nameOffsets(text);
  const docs: { data: unknown; at: FilePos | undefined }[] = [];
  let n = 0;
  for (const data of raw) {
    if (data === null || data === undefined) continue;
    const meta = (data as { metadata?: { name?: unknown } }).metadata;
    const name = typeof meta?.name === 'string' ? meta.name : undefined;
    const at = names[n++];
    if (name === undefined || at === undefined) return undefined;
    if (!(text.startsWith(name, at.offset) || text.startsWith(name, at.offset + 1))) return undefined;
    docs.push({ data, at: at.pos });
  }
  if (n !== names.length) return undefined;
  return checkedFast(docs);
}

/**
 * The per-document checks for fast-parsed documents; undefined (take the exact path) at the first problem.
 * `depth`, when the reader knows it, bounds the document's nesting: within the limit, the data is not walked.
 */
function checkedFast(raw: readonly { data: unknown; at: FilePos | undefined; depth?: number }[]): ParsedFile | undefined {
  if (raw.length > MAX_DOCUMENTS) return undefined;
  const docs: ParsedDoc[] = [];
  for (const { data, at, depth } of raw) {
    if (data === null || data === undefined) continue;
    if (at === undefined) return undefined;
    if ((depth === undefined || depth > MAX_DEPTH) && dataDepthExceeded(data)) return undefined;
    const a = analyse(data);
    // Templates keep exact positions: their render errors can name any field.
    if (a.problems.length > 0 || a.kind === undefined || a.kind === 'Template' || a.name === undefined) {
      return undefined;
    }
    docs.push({ kind: a.kind, name: a.name, valid: true, data, at, pos: {} });
  }
  return { format: 1, exact: false, docs, diagnostics: [] };
}

/** Where `metadata:\n  name: X` puts X, for each document, in order (block style only). */
function nameOffsets(text: string): { offset: number; pos: FilePos }[] {
  const out: { offset: number; pos: FilePos }[] = [];
  const re = /^metadata:[ \t]*(?:#.*)?\r?\n((?:(?:[ \t]*#.*|[ \t]*)\r?\n)*)([ ]+)/gm;
  let counted = 0;
  let line = 1;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const indent = m[2]!;
    // Scan the children of metadata (lines indented exactly `indent`) for `name:`.
    let i = m.index + m[0].length - indent.length;
    while (i < text.length) {
      const eol = text.indexOf('\n', i);
      const l = text.slice(i, eol < 0 ? text.length : eol);
      if (l.trim() !== '' && !l.trimStart().startsWith('#')) {
        if (!l.startsWith(indent)) break;
        const nm = /^name:[ \t]+/.exec(l.slice(indent.length));
        if (l[indent.length] !== ' ' && nm) {
          const offset = i + indent.length + nm[0].length;
          for (let j = text.indexOf('\n', counted); j >= 0 && j < offset; j = text.indexOf('\n', j + 1)) line++;
          counted = offset;
          out.push({ offset, pos: [line, indent.length + nm[0].length + 1] });
          break;
        }
      }
      if (eol < 0) break;
      i = eol + 1;
    }
  }
  return out;
}

function dataDepthExceeded(v: unknown, d = 1): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (d > MAX_DEPTH) return true; // recursion stops here: at most MAX_DEPTH + 1 frames
  if (Array.isArray(v)) {
    for (const c of v) if (c !== null && typeof c === 'object' && dataDepthExceeded(c, d + 1)) return true;
    return false;
  }
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const c = (v as Record<string, unknown>)[k];
    if (c !== null && typeof c === 'object' && dataDepthExceeded(c, d + 1)) return true;
  }
  return false;
}

type Problem = { code: string; message: string; ptr: string; key: boolean };
type Analysis = { problems: Problem[]; kind?: Kind; name?: string };

/**
 * The per-document checks on plain data: shape, apiVersion, kind, literal secrets, JSON Schema, semantic rules.
 * `kind` is set when the document is a resource of a known kind (valid or not). Normalises valid hosts' MACs.
 */
function analyse(data: unknown): Analysis {
  const problem = (code: string, message: string, ptr = '', key = false): Analysis => ({
    problems: [{ code, message, ptr, key }],
  });
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return problem('schema', 'Document must be a mapping with apiVersion, kind, metadata and spec');
  }
  const obj = data as Record<string, unknown>;
  if ('apiVersion' in obj && obj['apiVersion'] !== API_VERSION) {
    return problem(
      'unknown-api-version',
      `Unknown apiVersion ${quoteValue(obj['apiVersion'])}: Gough reads "${API_VERSION}"`,
      '/apiVersion',
    );
  }
  if (!('kind' in obj)) return problem('schema', 'Missing required property "kind" in the document');
  const kind = obj['kind'];
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    return problem('unknown-kind', `Unknown kind ${quoteValue(kind)}: expected one of ${KINDS.join(', ')}`, '/kind');
  }
  const k = kind as Kind;
  const meta = obj['metadata'];
  const name =
    meta && typeof meta === 'object' && typeof (meta as { name?: unknown }).name === 'string'
      ? (meta as { name: string }).name
      : undefined;
  const schemaCode = k === 'RepoConfig' ? 'repo-config' : 'schema';
  const problems: Problem[] = [];
  const secrets = findLiteralSecrets(obj);
  const secretPtrs = secrets.map((x) => toPointer(x.path));
  for (const x of secrets)
    problems.push({ code: 'literal-secret', message: x.message, ptr: toPointer(x.path), key: false });
  const validate = validatorOf(k);
  if (!validate(obj)) {
    for (const e of schemaErrors(validate.errors ?? [], secretPtrs))
      problems.push({ code: schemaCode, message: e.message, ptr: e.ptr, key: e.key });
  }
  if (problems.length === 0) {
    for (const e of semanticErrors(k, obj))
      problems.push({ code: schemaCode, message: e.message, ptr: e.ptr, key: false });
  }
  if (problems.length === 0 && k === 'Host') normaliseHost(obj);
  const out: Analysis = { problems, kind: k };
  if (name !== undefined) out.name = name;
  return out;
}

/**
 * Kind and name of a document that has a syntax error, when what parsed of it says so: references to it then
 * do not cascade into unknown-site/unknown-template errors.
 */
function identityOf(doc: Document.Parsed): { kind: Kind; name: string } | undefined {
  if (depthExceeded(doc.contents)) return undefined;
  try {
    const data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
    if (!data || typeof data !== 'object') return undefined;
    const { kind, metadata } = data as { kind?: unknown; metadata?: { name?: unknown } };
    if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) return undefined;
    if (typeof metadata?.name !== 'string') return undefined;
    return { kind: kind as Kind, name: metadata.name };
  } catch {
    return undefined;
  }
}

/** Lower-cases MACs so duplicates and DHCP lookups compare equal. */
function normaliseHost(obj: Record<string, unknown>): void {
  const hw = (obj['spec'] as { hardware: { macs: string[]; bootMac?: string } }).hardware;
  hw.macs = hw.macs.map((m) => m.toLowerCase());
  if (hw.bootMac !== undefined) hw.bootMac = hw.bootMac.toLowerCase();
}

/** Checks JSON Schema cannot say well (or only with unreadable messages). */
function semanticErrors(kind: Kind, obj: Record<string, unknown>): { ptr: string; message: string }[] {
  const errs: { ptr: string; message: string }[] = [];
  const spec = obj['spec'] as Record<string, unknown>;
  if (kind === 'Host') {
    const hw = spec['hardware'] as { macs: string[]; bootMac?: string };
    if (hw.bootMac !== undefined && !hw.macs.some((m) => m.toLowerCase() === hw.bootMac!.toLowerCase())) {
      errs.push({
        ptr: '/spec/hardware/bootMac',
        message: `Boot MAC ${quoteValue(hw.bootMac)} is not one of the host's macs`,
      });
    }
    const seen = new Map<string, number>();
    hw.macs.forEach((m, i) => {
      const prev = seen.get(m.toLowerCase());
      if (prev !== undefined)
        errs.push({
          ptr: `/spec/hardware/macs/${i}`,
          message: `MAC ${quoteValue(m)} is listed twice (also macs[${prev}])`,
        });
      else seen.set(m.toLowerCase(), i);
    });
  }
  if (kind === 'Site') {
    const prov = spec['provisioner'] as string;
    if (prov === 'maas' && spec['maas'] === undefined)
      errs.push({
        ptr: '/spec',
        message: 'Site with provisioner "maas" needs a "maas" section (url, apiKeyRef)',
      });
    if (prov === 'pxe' && spec['pxe'] === undefined)
      errs.push({
        ptr: '/spec',
        message: 'Site with provisioner "pxe" needs a "pxe" section (interface, mode, subnet, bootServer)',
      });
  }
  if (kind === 'Policy') {
    const exprs =
      (
        spec['selector'] as {
          matchExpressions?: { operator: string; values?: string[] }[];
        }
      ).matchExpressions ?? [];
    exprs.forEach((e, i) => {
      const needs = e.operator === 'In' || e.operator === 'NotIn';
      if (needs && (e.values === undefined || e.values.length === 0)) {
        errs.push({
          ptr: `/spec/selector/matchExpressions/${i}`,
          message: `Operator "${e.operator}" needs a non-empty "values" list`,
        });
      }
      if (!needs && e.values !== undefined) {
        errs.push({
          ptr: `/spec/selector/matchExpressions/${i}/values`,
          message: `Operator "${e.operator}" takes no "values"`,
        });
      }
    });
  }
  return errs;
}

type MappedError = { ptr: string; key: boolean; message: string };

const PRIORITY: Record<string, number> = {
  required: 0,
  additionalProperties: 1,
  propertyNames: 2,
  const: 3,
  enum: 4,
  type: 5,
};

/** ajv errors → one readable error per place, with the pointer of the node to point at. */
export function schemaErrors(errors: readonly SchemaError[], secretPtrs: readonly string[] = []): MappedError[] {
  const under = (p: string, base: string): boolean => p === base || p.startsWith(`${base}/`);
  // A literal secret is reported once, as literal-secret: drop schema errors at, inside, or about it.
  const aboutSecret = (e: SchemaError): boolean => {
    const extra = (e.params as { additionalProperty?: unknown }).additionalProperty;
    const target = typeof extra === 'string' ? `${e.instancePath}${toPointer([extra])}` : e.instancePath;
    return secretPtrs.some(
      (s) => under(target, s) || (under(s, e.instancePath) && (e.keyword === 'oneOf' || e.keyword === 'anyOf')),
    );
  };
  const kept = errors.filter((e) => !/\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath) && !aboutSecret(e));
  // A typo'd property name shows up twice (unknown "hardwre", missing "hardware"): keep the unknown one.
  const typos = new Set<string>();
  for (const e of kept) {
    if (e.keyword !== 'additionalProperties') continue;
    const extra = String((e.params as { additionalProperty?: unknown }).additionalProperty);
    for (const r of kept) {
      const missing = (r.params as { missingProperty?: unknown }).missingProperty;
      if (r.keyword === 'required' && r.instancePath === e.instancePath && typeof missing === 'string') {
        if (closest(extra, [missing]) !== undefined) typos.add(`${r.instancePath}\u0000${missing}`);
      }
    }
  }
  const byPlace = new Map<string, { e: SchemaError; ptr: string; key: boolean }>();
  for (const e of kept) {
    const place = placeOf(e);
    if (typos.has(place.id)) continue;
    const prev = byPlace.get(place.id);
    if (!prev || (PRIORITY[e.keyword] ?? 9) < (PRIORITY[prev.e.keyword] ?? 9)) {
      byPlace.set(place.id, { e, ptr: place.ptr, key: place.key });
    }
  }
  return [...byPlace.values()].map(({ e, ptr, key }) => ({ ptr, key, message: messageOf(e) }));
}

/** Where an error points: the parent mapping for a missing property, the key for an unknown or invalid key. */
function placeOf(e: SchemaError): { id: string; ptr: string; key: boolean } {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') {
    return { id: `${e.instancePath}\u0000${String(p['missingProperty'])}`, ptr: e.instancePath, key: false };
  }
  const name = e.keyword === 'additionalProperties' ? String(p['additionalProperty']) : propertyNameOf(e);
  if (name !== undefined) {
    const ptr = `${e.instancePath}${toPointer([name])}`;
    return { id: `${ptr}#key`, ptr, key: true };
  }
  return { id: e.instancePath, ptr: e.instancePath, key: false };
}

function propertyNameOf(e: SchemaError): string | undefined {
  const n = (e as { propertyName?: unknown }).propertyName ?? (e.params as { propertyName?: unknown }).propertyName;
  return typeof n === 'string' ? n : undefined;
}

function messageOf(e: SchemaError): string {
  const where = describePointer(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const desc =
    typeof (e.parentSchema as { description?: unknown } | undefined)?.description === 'string'
      ? (e.parentSchema as { description: string }).description.replace(/\.$/, '').replaceAll('`', '')
      : undefined;
  switch (e.keyword) {
    case 'required':
      return `Missing required property "${String(p['missingProperty'])}" in ${where}`;
    case 'additionalProperties': {
      const name = String(p['additionalProperty']);
      const known = Object.keys(((e.parentSchema as { properties?: object } | undefined)?.properties ?? {}) as object);
      const near = closest(name, known);
      return `Unknown property "${name}" in ${where}${near ? `: did you mean "${near}"?` : known.length ? `: expected one of ${known.join(', ')}` : ''}`;
    }
    case 'propertyNames':
    case 'pattern':
      if (propertyNameOf(e) !== undefined || e.keyword === 'propertyNames') {
        return `Invalid key ${quoteValue(propertyNameOf(e))} in ${where}`;
      }
      return `Invalid value ${quoteValue(e.data)} for ${where}${desc ? `: expected ${lowerFirst(desc)}` : ''}`;
    case 'enum':
      return `Invalid value ${quoteValue(e.data)} for ${where}: expected one of ${(p['allowedValues'] as unknown[]).map((v) => quoteValue(v)).join(', ')}`;
    case 'const':
      return `Invalid value ${quoteValue(e.data)} for ${where}: expected ${quoteValue(p['allowedValue'])}`;
    case 'type':
      return `Wrong type for ${where}: expected ${String(p['type']).replaceAll(',', ' or ')}, got ${typeName(e.data)}`;
    case 'oneOf':
    case 'anyOf':
      return `Invalid value for ${where}${desc ? `: expected ${lowerFirst(desc)}` : ''}`;
    case 'not':
      return e.instancePath === '/spec'
        ? 'Give either cloudConfig or userData in spec, not both'
        : `Invalid value for ${where}`;
    default:
      return `Invalid value ${quoteValue(e.data)} for ${where}: ${e.message ?? 'does not match the schema'}`;
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${quoteValue(v)}`;
}

function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The YAML node at a path (the key node when `key`); the deepest existing ancestor when the path does not exist. */
function nodeAt(doc: Document.Parsed, path: readonly string[], key: boolean): Node | undefined {
  let cur: unknown = doc.contents;
  let last: Node | undefined = (cur as Node | null) ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isAlias(cur)) cur = cur.resolve(doc);
    if (isMap(cur)) {
      const pair = cur.items.find(
        (it) => isPair(it) && (isScalar(it.key) ? String(it.key.value) : String(it.key)) === seg,
      );
      if (!pair) return last;
      const keyNode = pair.key as Node;
      if (i === path.length - 1 && key) return keyNode;
      const v = pair.value as Node | null;
      // An empty value (`key:`) has no useful position: point at its key.
      if (v === null || (isScalar(v) && v.value === null && v.range?.[0] === v.range?.[1])) return keyNode;
      cur = v;
      last = v;
    } else if (isSeq(cur)) {
      const item = cur.items[Number(seg)] as Node | undefined;
      if (item === undefined) return last;
      cur = item;
      last = item;
    } else {
      return last;
    }
  }
  return last;
}

function wantedPointers(kind: Kind, obj: Record<string, unknown>): string[] {
  const ptrs = ['/metadata/name', '/spec'];
  const spec = (obj['spec'] ?? {}) as Record<string, unknown>;
  if (kind === 'Host') {
    ptrs.push('/spec/site', '/spec/template', '/spec/hostname', '/spec/hardware/bmc/address', '/spec/network/address');
    const macs = (spec['hardware'] as { macs?: unknown } | undefined)?.macs;
    if (Array.isArray(macs))
      macs.forEach((_, i) => {
        ptrs.push(`/spec/hardware/macs/${i}`);
      });
    const vars = spec['vars'];
    if (vars && typeof vars === 'object') for (const v of Object.keys(vars)) ptrs.push(toPointer(['spec', 'vars', v]));
  } else if (kind === 'Site') {
    ptrs.push('/spec/timezone');
  } else if (kind === 'Policy') {
    ptrs.push('/spec/selector');
    const windows = spec['maintenanceWindows'];
    if (Array.isArray(windows))
      windows.forEach((_, i) => {
        for (const f of ['schedule', 'duration', 'timezone']) ptrs.push(`/spec/maintenanceWindows/${i}/${f}`);
      });
    const sel = (spec['selector'] ?? {}) as {
      sites?: unknown;
      hosts?: unknown;
    };
    if (Array.isArray(sel.sites))
      sel.sites.forEach((_, i) => {
        ptrs.push(`/spec/selector/sites/${i}`);
      });
    if (Array.isArray(sel.hosts))
      sel.hosts.forEach((_, i) => {
        ptrs.push(`/spec/selector/hosts/${i}`);
      });
  }
  return ptrs;
}

/** Records the position of every node of a (small) document: templates, whose render errors name any field. */
function recordAll(doc: Document.Parsed, posOf: (offset: number) => FilePos, pos: Record<string, FilePos>): void {
  const stack: [unknown, string[]][] = [[doc.contents, []]];
  while (stack.length > 0) {
    const [n, path] = stack.pop()!;
    if (isMap(n)) {
      for (const it of n.items) {
        const key = isScalar(it.key) ? String(it.key.value) : String(it.key);
        const v = it.value as Node | null;
        const target = v?.range && !(isScalar(v) && v.value === null) ? v : (it.key as Node);
        if (target?.range) pos[toPointer([...path, key])] = posOf(target.range[0]);
        stack.push([v, [...path, key]]);
      }
    } else if (isSeq(n)) {
      n.items.forEach((it, i) => {
        const v = it as Node;
        if (v?.range) pos[toPointer([...path, String(i)])] = posOf(v.range[0]);
        stack.push([v, [...path, String(i)]]);
      });
    }
  }
}

/** The first alias whose anchor is not defined before it. */
function unresolvedAlias(doc: Document.Parsed): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.resolve(doc) === undefined) {
        found = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** The first collection nested deeper than MAX_DEPTH (aliases are not followed). */
function depthExceeded(root: unknown): Node | undefined {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [n, d] = stack.pop()!;
    if (!isCollection(n)) continue;
    if (d > MAX_DEPTH) return n;
    for (const it of n.items) {
      if (isPair(it)) {
        stack.push([it.key, d + 1], [it.value, d + 1]);
      } else stack.push([it, d + 1]);
    }
  }
  return undefined;
}

/** Cheap pre-scan that rejects pathological nesting before the (recursive) YAML composer sees it. */
function scanNesting(text: string): { line: number; message: string } | undefined {
  if (!mayNestTooDeep(text)) return undefined;
  let flow = 0;
  let line = 1;
  let atStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      atStart = true;
      indent = 0;
      continue;
    }
    if (atStart) {
      if (c === 32 || c === 9) {
        indent++;
      } else if ((c === 45 || c === 63) && text.charCodeAt(i + 1) === 32) {
        indent += 2;
        i++;
      } else atStart = false;
      if (indent > MAX_INDENT)
        return {
          line,
          message: `YAML is indented more than ${MAX_INDENT} columns (nesting limit ${MAX_DEPTH} levels)`,
        };
      if (atStart) continue;
    }
    if (c === 91 || c === 123) {
      if (++flow > MAX_FLOW_DEPTH)
        return {
          line,
          message: `YAML nesting is deeper than the limit of ${MAX_DEPTH} levels`,
        };
    } else if ((c === 93 || c === 125) && flow > 0) flow--;
  }
  return undefined;
}

/**
 * False when scanNesting cannot find anything, checked with native searches only: no line is longer than
 * MAX_INDENT (indentation never exceeds a line's length) and there are at most MAX_FLOW_DEPTH `[`/`{` in all.
 */
function mayNestTooDeep(text: string): boolean {
  let opens = 0;
  for (let i = text.indexOf('['); i >= 0; i = text.indexOf('[', i + 1)) opens++;
  for (let i = text.indexOf('{'); i >= 0; i = text.indexOf('{', i + 1)) opens++;
  if (opens > MAX_FLOW_DEPTH) return true;
  let start = 0;
  for (;;) {
    const eol = text.indexOf('\n', start);
    if ((eol < 0 ? text.length : eol) - start > MAX_INDENT) return true;
    if (eol < 0) return false;
    start = eol + 1;
  }
}

function lineColOfByte(bytes: Uint8Array, offset: number): FilePos {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 10) {
      line++;
      start = i + 1;
    }
  }
  return [line, offset - start + 1];
}

/** First line of a yaml error message, without its " at line L, column C" suffix (the position is in the diagnostic). */
function yamlMessage(m: string): string {
  const first = m.split('\n')[0] ?? m;
  const cut = first.replace(/ at line \d+, column \d+:?$/, '').trim();
  return cut.length > 0 ? cut[0]!.toUpperCase() + cut.slice(1).replace(/\.$/, '') : 'YAML does not parse';
}
