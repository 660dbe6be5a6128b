/**
 * A small, fast YAML emitter for plain data (mappings, sequences, strings, numbers, booleans, null),
 * used for rendered cloud-config. It is ~20x faster than a general YAML library's `stringify`, which matters
 * when a repository of 100,000 hosts is rendered on every validate. Keys keep the order they were written in.
 *
 * Output is conservative so cloud-init's YAML 1.1 parser (PyYAML) reads it exactly as YAML 1.2 does:
 * a string is written plain only when it cannot be mistaken for anything else (no number-, bool- or
 * null-like words of either YAML version, no indicators); multi-line strings use literal blocks; everything
 * else is single-quoted when on one line, or double-quoted with JSON escapes (a subset of YAML's), non-printable
 * characters escaped.
 */

/** Words YAML 1.1 or 1.2 resolve to booleans or null. */
const RESERVED = /^(?:y|n|yes|no|true|false|on|off|null)$/i;
/** Number-like words (some YAML 1.1 resolvers read `e0` or `_` as floats). */
const NUMBERISH = /^[-+]?[\d._]*(?:[eE][-+]?\d+)?$/;
/** Characters PyYAML refuses in a stream, plus line/paragraph separators it would fold. */
const NON_PRINTABLE = /[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\u2027\u202A-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const NON_PRINTABLE_ALL = new RegExp(NON_PRINTABLE.source, 'gu');
/** Printable ASCII plus tab and newline: the common case, checked without the Unicode pattern. */
const ASCII_TEXT = /^[\x20-\x7E\n\t]*$/;

function printable(s: string): boolean {
  return ASCII_TEXT.test(s) || !NON_PRINTABLE.test(s);
}

function escapeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** Single quotes for one-line printable text (only `'` needs escaping, as `''`); else JSON-style double quotes. */
function quoted(s: string): string {
  if (!/[\n\r\t]/.test(s) && printable(s)) return `'${s.replaceAll("'", "''")}'`;
  return JSON.stringify(s).replace(NON_PRINTABLE_ALL, escapeChar);
}

/** 1: may start a plain string (letters, `_`, `/`); 2: may appear inside one (also digits and `.@+=,%~ :-`). */
const PLAIN_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_/]/.test(ch)) PLAIN_CHAR[c] = 1;
  else if (/[0-9.@+=,%~ :-]/.test(ch)) PLAIN_CHAR[c] = 2;
}

/**
 * A string is written plain only when no YAML reader can take it for anything else: it starts with a letter,
 * `_`, `/` or `-`+letter (`-c`, `--token`), holds no indicator, quote, comment or flow character, no `: `,
 * does not end in `:` or a space, and is not a bool/null/number-like word.
 */
function isPlain(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  let i = 0;
  while (i < n && s.charCodeAt(i) === 45 /* - */) i++;
  if (i === n) return false;
  const first = s.charCodeAt(i);
  if (first >= 128 || PLAIN_CHAR[first] !== 1 || (i > 0 && first === 47)) return false;
  for (i++; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || PLAIN_CHAR[c] === 0) return false;
    if (c === 58 /* : */ && (i === n - 1 || s.charCodeAt(i + 1) === 32)) return false;
  }
  if (s.charCodeAt(n - 1) === 32) return false;
  return !(n <= 5 && RESERVED.test(s)) && !NUMBERISH.test(s);
}

/**
 * A literal block (`|`) keeps multi-line text readable. Used only for text that round-trips unambiguously:
 * no CR, no odd characters, first non-empty line not indented, no blank-but-not-empty last line.
 */
function literalBlock(s: string, indent: string): string | undefined {
  if (!s.includes('\n') || s.includes('\r') || !printable(s)) return undefined;
  if (/^\n*[ \t]/.test(s)) return undefined;
  let body = s;
  let chomp = '-';
  if (body.endsWith('\n')) {
    body = body.slice(0, -1);
    chomp = body.endsWith('\n') || body === '' ? '+' : '';
  }
  if (body.trim() === '' || /(?:^|\n)[ \t]+$/.test(body)) return undefined;
  // Indent every non-empty line; empty lines stay empty.
  return `|${chomp}${`\n${body}`.replace(/\n(?=[^\n])/g, `\n${indent}`)}`;
}

function scalar(v: unknown, indent: string): string {
  switch (typeof v) {
    case 'string':
      if (isPlain(v)) return v;
      return literalBlock(v, indent) ?? quoted(v);
    case 'number':
      if (Number.isNaN(v)) return '.nan';
      if (!Number.isFinite(v)) return v > 0 ? '.inf' : '-.inf';
      return Object.is(v, -0) ? '-0' : String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    default:
      if (v === null || v === undefined) return 'null';
      return quoted(String(v));
  }
}

function key(k: string): string {
  return isPlain(k) ? k : quoted(k);
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Subtrees that never change (literal parts of a template) and their emitted lines per indent. */
const staticTrees = new WeakSet<object>();
const staticLines = new WeakMap<object, Map<string, string[]>>();

/**
 * Marks a plain-data subtree as never changing: its YAML lines are computed once per indent and reused.
 * The caller must not mutate it afterwards.
 */
export function markStatic(tree: object): void {
  staticTrees.add(tree);
}

function emitCached(v: object, indent: string, out: string[], emit: (o: string[]) => void): void {
  if (!staticTrees.has(v)) {
    emit(out);
    return;
  }
  let byIndent = staticLines.get(v);
  if (byIndent === undefined) {
    byIndent = new Map();
    staticLines.set(v, byIndent);
  }
  let lines = byIndent.get(indent);
  if (lines === undefined) {
    lines = [];
    emit(lines);
    byIndent.set(indent, lines);
  }
  for (const l of lines) out.push(l);
}

function emitMap(m: Record<string, unknown>, indent: string, out: string[]): void {
  emitCached(m, indent, out, (o) => emitMapEntries(m, indent, o));
}

function emitMapEntries(m: Record<string, unknown>, indent: string, out: string[]): void {
  for (const k of Object.keys(m)) {
    const v = m[k];
    if (v === undefined) continue;
    if (isMap(v) && Object.keys(v).length > 0) {
      out.push(`${indent}${key(k)}:`);
      emitMap(v, `${indent}  `, out);
    } else if (Array.isArray(v) && v.length > 0) {
      out.push(`${indent}${key(k)}:`);
      emitSeq(v, `${indent}  `, out);
    } else {
      out.push(`${indent}${key(k)}: ${collection(v) ?? scalar(v, `${indent}  `)}`);
    }
  }
}

function collection(v: unknown): string | undefined {
  if (Array.isArray(v)) return '[]';
  if (isMap(v)) return '{}';
  return undefined;
}

function emitSeq(s: unknown[], indent: string, out: string[]): void {
  emitCached(s, indent, out, (o) => emitSeqItems(s, indent, o));
}

function emitSeqItems(s: unknown[], indent: string, out: string[]): void {
  const inner = `${indent}  `;
  for (const v of s) {
    const nonEmptyMap = isMap(v) && Object.keys(v).length > 0;
    if (nonEmptyMap || (Array.isArray(v) && v.length > 0)) {
      const start = out.length;
      if (nonEmptyMap) emitMap(v as Record<string, unknown>, inner, out);
      else emitSeq(v as unknown[], inner, out);
      out[start] = `${indent}- ${(out[start] as string).slice(inner.length)}`;
    } else {
      out.push(`${indent}- ${collection(v) ?? scalar(v, inner)}`);
    }
  }
}

/** YAML text of a plain-data document, ending in a newline. */
export function emitYaml(doc: unknown): string {
  const out: string[] = [];
  if (isMap(doc) && Object.keys(doc).length > 0) emitMap(doc, '', out);
  else if (Array.isArray(doc) && doc.length > 0) emitSeq(doc, '', out);
  else out.push(collection(doc) ?? scalar(doc, ''));
  return `${out.join('\n')}\n`;
}
