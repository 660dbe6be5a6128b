/**
 * A fast reader for the plain block YAML that host files are made of: block mappings and sequences (including
 * `- key: value` items), single-line plain / single-quoted / double-quoted scalars, flow sequences and mappings of
 * such scalars, comments and `---` separators. It resolves scalars exactly as YAML 1.2's core schema does (the
 * `yaml` package's default), and returns undefined for ANYTHING else — anchors, tags, block scalars, multi-line
 * scalars, nested flow collections, unusual escapes, duplicate keys, tabs — so the caller falls back to a full
 * parser. It also reports where each document's `metadata.name` value starts. A property test compares it with
 * `yaml` on random documents.
 */

export type SimpleDoc = { data: unknown; namePos?: [line: number, col: number] };

type Frame = {
  indent: number;
  seq: boolean;
  value: Record<string, unknown> | unknown[];
  /** A key whose value is a nested block still to come. */
  pending?: string | undefined;
  /** Path of keys from the document root (for locating metadata.name). */
  path: string;
};

const KEY = /^([A-Za-z0-9_][A-Za-z0-9_./-]*):(?: +|$)/;
const INT = /^[-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const PLAIN_START_BAD = /^[[\]{}&*!|>'"%@`#,?:-]/;

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

/** A scalar starting at `i` of `s`, ending before any of `stops` (flow) or at end/comment; returns [value, next]. */
function scalarAt(s: string, i: number, flow: boolean): [unknown, number] {
  const q = s[i];
  if (q === '"' || q === "'") {
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
        return [out, j + 1];
      }
      if (q === '"' && ch === '"') return [out, j + 1];
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
  if (PLAIN_START_BAD.test(s.slice(i, i + 1))) bail();
  let j = i;
  while (j < s.length) {
    const ch = s[j]!;
    if (ch === ':' && (j + 1 === s.length || s[j + 1] === ' ' || (flow && s[j + 1] === ','))) bail();
    if (ch === '#' && s[j - 1] === ' ') break;
    if (flow && (ch === ',' || ch === ']' || ch === '}' || ch === '[' || ch === '{')) break;
    j++;
  }
  return [plain(s.slice(i, j).trimEnd()), j];
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

function flowAt(s: string, i: number): [unknown, number] {
  const open = s[i];
  const close = open === '[' ? ']' : '}';
  const seq: unknown[] = [];
  const map: Record<string, unknown> = {};
  let j = skipSpaces(s, i + 1);
  if (s[j] === close) return [open === '[' ? seq : map, j + 1];
  for (;;) {
    if (s[j] === '[' || s[j] === '{') bail();
    if (open === '[') {
      const [v, k] = scalarAt(s, j, true);
      seq.push(v);
      j = skipSpaces(s, k);
    } else {
      const m = /^([A-Za-z0-9_][A-Za-z0-9_./-]*): +/.exec(s.slice(j));
      if (!m) bail();
      const key = m![1]!;
      if (Object.hasOwn(map, key) || key === '__proto__') bail();
      const vs = j + m![0].length;
      if (s[vs] === '[' || s[vs] === '{' || s[vs] === ',' || s[vs] === '}') bail();
      const [v, k] = scalarAt(s, vs, true);
      map[key] = v;
      j = skipSpaces(s, k);
    }
    if (s[j] === ',') {
      j = skipSpaces(s, j + 1);
      if (s[j] === close) bail(); // trailing comma: leave it to the full parser
      continue;
    }
    if (s[j] === close) return [open === '[' ? seq : map, j + 1];
    bail();
  }
}

/** The value written after `key: ` or `- ` at column `i`; undefined when the line ends (a nested block follows). */
function inlineValue(s: string, i: number): { v: unknown } | undefined {
  if (i >= s.length || s[i] === '#') return undefined;
  const [v, j] = s[i] === '[' || s[i] === '{' ? flowAt(s, i) : scalarAt(s, i, false);
  expectEnd(s, j);
  return { v };
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
    while (line.charCodeAt(c) === 32) c++;
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
        doc = { data: container };
        stack.push({ indent: c, seq: isItem, value: container, path: '' });
      } else {
        if (top.seq || top.pending === undefined) bail();
        (top.value as Record<string, unknown>)[top.pending!] = container;
        stack.push({ indent: c, seq: isItem, value: container, path: `${top.path}/${top.pending}` });
        top.pending = undefined;
      }
      top = stack[stack.length - 1]!;
    }
    if (top.indent !== c) bail();
    let at = c;
    let target = top;
    if (isItem) {
      if (!top.seq) bail();
      at = skipSpaces(line, c + 1);
      if (at === c + 1 && at < line.length) bail();
      if (line[at] === '-' && (line[at + 1] === ' ' || at + 1 === line.length)) bail();
      const km = KEY.exec(line.slice(at));
      if (!km) {
        const iv = inlineValue(line, at);
        if (!iv) bail();
        (top.value as unknown[]).push(iv!.v);
        continue;
      }
      // `- key: value`: a mapping item whose further keys sit at this column.
      const m: Record<string, unknown> = {};
      (top.value as unknown[]).push(m);
      target = { indent: at, seq: false, value: m, path: `${top.path}/${(top.value as unknown[]).length - 1}` };
      stack.push(target);
    } else if (top.seq) bail();
    const km = KEY.exec(line.slice(at));
    if (!km) bail();
    const key = km![1]!;
    const map = target.value as Record<string, unknown>;
    if (target.pending !== undefined) {
      map[target.pending] = null;
      target.pending = undefined;
    }
    if (Object.hasOwn(map, key) || key === '__proto__') bail();
    const vstart = at + km![0].length;
    const iv = inlineValue(line, vstart);
    if (!iv) {
      target.pending = key;
      map[key] = null;
      continue;
    }
    map[key] = iv.v;
    if (key === 'name' && target.path === '/metadata' && doc && typeof iv.v === 'string') {
      doc.namePos = [ln + 1, vstart + 1];
    }
  }
  finish();
  return docs;
}
