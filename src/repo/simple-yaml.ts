/**
 * A fast reader for the plain block YAML that host files are made of: block mappings and sequences (including
 * `- key: value` items), single-line plain / single-quoted / double-quoted scalars, flow sequences and mappings of
 * such scalars, comments and `---` separators. It resolves scalars exactly as YAML 1.2's core schema does (the
 * `yaml` package's default), and returns undefined for ANYTHING else — anchors, tags, block scalars, multi-line
 * scalars, nested flow collections, unusual escapes, duplicate keys, tabs — so the caller falls back to a full
 * parser. It also reports where each document's `metadata.name` value starts. A property test compares it with
 * `yaml` on random documents.
 */

export type SimpleDoc = {
  data: unknown;
  /** At least the deepest nesting of collections in `data` (an upper bound, for the caller's depth limit). */
  depth: number;
  namePos?: [line: number, col: number];
};

/** One open block. Every frame has the same fields (one hidden class), set at creation. */
type Frame = {
  indent: number;
  seq: boolean;
  value: Record<string, unknown> | unknown[];
  /** A key whose value is a nested block still to come. */
  pending: string | undefined;
  /** 0: the document root, 1: the root's `metadata` mapping, 2: anything else (for locating metadata.name). */
  role: 0 | 1 | 2;
};

function frame(indent: number, seq: boolean, value: Frame['value'], role: Frame['role']): Frame {
  return { indent, seq, value, pending: undefined, role };
}

/** 1: may start a key (`[A-Za-z0-9_]`); 2: may continue one (also `.`, `/`, `-`). */
const KEY_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9_]/.test(ch)) KEY_CHAR[c] = 1;
  else if (/[./-]/.test(ch)) KEY_CHAR[c] = 2;
}

/**
 * A `key:` at `i` of `s`, as `/([A-Za-z0-9_][A-Za-z0-9_./-]*):(?: +|$)/y` would match it (in flow context
 * `: +`: a space is required): returns the index of the colon, or -1, and sets `end` to where the value starts.
 */
function keyEnd(s: string, i: number, flow: boolean): number {
  const n = s.length;
  let c = s.charCodeAt(i);
  if (!(c < 128 && KEY_CHAR[c] === 1)) return -1;
  let j = i + 1;
  while (j < n) {
    c = s.charCodeAt(j);
    if (c >= 128 || KEY_CHAR[c] === 0) break;
    j++;
  }
  if (s.charCodeAt(j) !== 58 /* : */) return -1;
  let v = j + 1;
  if (v === n && !flow) {
    end = v;
    return j;
  }
  if (s.charCodeAt(v) !== 32) return -1;
  while (s.charCodeAt(v) === 32) v++;
  end = v;
  return j;
}
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
/** Characters a plain scalar cannot start with: []{}&*!|>'"%@`#,?:- */
const PLAIN_START_BAD = new Uint8Array(128);
for (const ch of "[]{}&*!|>'\"%@`#,?:-") PLAIN_START_BAD[ch.charCodeAt(0)] = 1;

class Bail extends Error {}
const bail = (): never => {
  throw new Bail();
};

/** Core-schema resolution of a plain scalar. */
function plain(s: string): unknown {
  switch (s) {
    case '':
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
  }
  const c = s.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
    if (INT.test(s)) return s.replace(/^[-+]/, '').length > 15 ? bail() : Number(s);
    if (FLOAT.test(s)) return Number(s);
    if (/^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/.test(s) || /^0[ox]/.test(s)) bail();
  }
  return s;
}

/**
 * `s` as a string of its own. V8 makes a slice of 13 or more characters a view into the whole text, so one such
 * value (a MAC address) would keep its file's text alive as long as the loaded repository lives.
 */
function detached(s: string): string {
  return s.length < 13 ? s : (s + ' ').slice(0, -1);
}

/** Where the last scalarAt/flowAt call stopped (a module variable instead of a returned tuple: fewer allocations). */
let end = 0;

/** A scalar starting at `i` of `s`, ending before any of `stops` (flow) or at end/comment; sets `end`. */
function scalarAt(s: string, i: number, flow: boolean): unknown {
  const q = s[i];
  if (q === '"' || q === "'") {
    // Common case: no escapes before the closing quote.
    const close = s.indexOf(q, i + 1);
    const backslash = q === '"' ? s.indexOf('\\', i + 1) : -1;
    const simple = q === '"' ? backslash < 0 || backslash > close : s[close + 1] !== "'";
    if (close >= 0 && simple) {
      end = close + 1;
      return detached(s.slice(i + 1, close));
    }
    let out = '';
    let j = i + 1;
    for (;;) {
      if (j >= s.length) bail();
      const ch = s[j]!;
      if (q === "'" && ch === "'") {
        if (s[j + 1] === "'") {
          out += "'";
          j += 2;
          continue;
        }
        end = j + 1;
        return out;
      }
      if (q === '"' && ch === '"') {
        end = j + 1;
        return out;
      }
      if (q === '"' && ch === '\\') {
        const e = s[j + 1];
        if (e === '"' || e === '\\' || e === '/') out += e;
        else if (e === 'n') out += '\n';
        else if (e === 't') out += '\t';
        else bail();
        j += 2;
        continue;
      }
      out += ch;
      j++;
    }
  }
  const c0 = s.charCodeAt(i);
  if (c0 < 128 && PLAIN_START_BAD[c0] === 1) bail();
  let j = i;
  const n = s.length;
  while (j < n) {
    const ch = s.charCodeAt(j);
    if (ch === 58 /* : */) {
      const nx = s.charCodeAt(j + 1);
      if (j + 1 === n || nx === 32 || (flow && nx === 44)) bail();
    } else if (ch === 35 /* # */) {
      if (s.charCodeAt(j - 1) === 32) break;
    } else if (flow && (ch === 44 || ch === 93 || ch === 125 || ch === 91 || ch === 123)) break;
    j++;
  }
  end = j;
  return plain(detached(s.slice(i, j).trimEnd()));
}

function skipSpaces(s: string, i: number): number {
  while (s[i] === ' ') i++;
  return i;
}

/** What may follow a value on its line: spaces, then nothing or a comment. */
function expectEnd(s: string, i: number): void {
  i = skipSpaces(s, i);
  if (i < s.length && s[i] !== '#') bail();
  if (i < s.length && s[i - 1] !== ' ') bail();
}

function flowAt(s: string, i: number): unknown {
  const open = s[i];
  const close = open === '[' ? ']' : '}';
  const seq: unknown[] = [];
  const map: Record<string, unknown> = {};
  let j = skipSpaces(s, i + 1);
  if (s[j] === close) {
    end = j + 1;
    return open === '[' ? seq : map;
  }
  for (;;) {
    if (s[j] === '[' || s[j] === '{') bail();
    if (open === '[') {
      seq.push(scalarAt(s, j, true));
      j = skipSpaces(s, end);
    } else {
      const colon = keyEnd(s, j, true);
      if (colon < 0) bail();
      const key = s.slice(j, colon);
      if (key === '__proto__' || Object.hasOwn(map, key)) bail();
      const vs = end;
      if (s[vs] === '[' || s[vs] === '{' || s[vs] === ',' || s[vs] === '}') bail();
      map[key] = scalarAt(s, vs, true);
      j = skipSpaces(s, end);
    }
    if (s[j] === ',') {
      j = skipSpaces(s, j + 1);
      if (s[j] === close) bail(); // trailing comma: leave it to the full parser
      continue;
    }
    if (s[j] === close) {
      end = j + 1;
      return open === '[' ? seq : map;
    }
    bail();
  }
}

/** No value on the line (a nested block follows). */
const NONE: unique symbol = Symbol('none');

/** The value written after `key: ` or `- ` at column `i`; NONE when the line ends (a nested block follows). */
function inlineValue(s: string, i: number): unknown {
  if (i >= s.length || s[i] === '#') return NONE;
  const v = s[i] === '[' || s[i] === '{' ? flowAt(s, i) : scalarAt(s, i, false);
  expectEnd(s, end);
  return v;
}

export function parseSimpleYaml(text: string): SimpleDoc[] | undefined {
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}

function parse(text: string): SimpleDoc[] {
  if (text.includes('\t') || text.includes('\r')) bail();
  const docs: SimpleDoc[] = [];
  let stack: Frame[] = [];
  let doc: SimpleDoc | undefined;
  const finish = (): void => {
    for (const f of stack) if (f.pending !== undefined) (f.value as Record<string, unknown>)[f.pending] = null;
    if (doc) docs.push(doc);
    stack = [];
    doc = undefined;
  };
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!;
    let c = 0;
    while (c < line.length && line.charCodeAt(c) === 32) c++; // bounded: an out-of-range read deoptimizes
    if (c === line.length || line[c] === '#') continue;
    if (c === 0 && (line.startsWith('---') || line.startsWith('...') || line[0] === '%')) {
      if (line === '---' || line.startsWith('--- #')) {
        finish();
        continue;
      }
      bail();
    }
    // Close blocks this line is outside of.
    while (stack.length > 0 && stack[stack.length - 1]!.indent > c) {
      const f = stack.pop()!;
      if (f.pending !== undefined) (f.value as Record<string, unknown>)[f.pending] = null;
    }
    const isItem = line[c] === '-' && (c + 1 === line.length || line[c + 1] === ' ');
    // A key after a sequence written at its parent key's column (`macs:\n- a\nnext: b`) closes the sequence.
    while (!isItem && stack.length > 1 && stack[stack.length - 1]!.seq && stack[stack.length - 1]!.indent === c) {
      stack.pop();
    }
    let top = stack[stack.length - 1];
    if (!top || top.indent < c || (top.indent === c && isItem && !top.seq)) {
      // A new block: the document root, or the value of the pending key above.
      const container: Frame['value'] = isItem ? [] : {};
      if (!top) {
        if (doc || c !== 0) bail();
        doc = { data: container, depth: 0 };
        stack.push(frame(c, isItem, container, 0));
      } else {
        if (top.seq || top.pending === undefined) bail();
        (top.value as Record<string, unknown>)[top.pending!] = container;
        stack.push(frame(c, isItem, container, top.role === 0 && top.pending === 'metadata' ? 1 : 2));
        top.pending = undefined;
      }
      top = stack[stack.length - 1]!;
    }
    if (top.indent !== c) bail();
    // Open blocks, plus a `- key:` item's mapping and a flow collection this line may add.
    if (doc && stack.length + 2 > doc.depth) doc.depth = stack.length + 2;
    let at = c;
    let target = top;
    if (isItem) {
      if (!top.seq) bail();
      at = skipSpaces(line, c + 1);
      if (at === c + 1 && at < line.length) bail();
      if (line[at] === '-' && (line[at + 1] === ' ' || at + 1 === line.length)) bail();
      if (keyEnd(line, at, false) < 0) {
        const iv = inlineValue(line, at);
        if (iv === NONE) bail();
        (top.value as unknown[]).push(iv);
        continue;
      }
      // `- key: value`: a mapping item whose further keys sit at this column.
      const m: Record<string, unknown> = {};
      (top.value as unknown[]).push(m);
      target = frame(at, false, m, 2);
      stack.push(target);
    } else if (top.seq) bail();
    const colon = keyEnd(line, at, false);
    if (colon < 0) bail();
    const key = line.slice(at, colon);
    const vstart = end;
    const map = target.value as Record<string, unknown>;
    if (target.pending !== undefined) {
      map[target.pending] = null;
      target.pending = undefined;
    }
    if (key === '__proto__' || Object.hasOwn(map, key)) bail();
    const iv = inlineValue(line, vstart);
    if (iv === NONE) {
      target.pending = key;
      map[key] = null;
      continue;
    }
    map[key] = iv;
    if (key === 'name' && target.role === 1 && doc && typeof iv === 'string') {
      doc.namePos = [ln + 1, vstart + 1];
    }
  }
  finish();
  return docs;
}
