/**
 * The template engine: one sandboxed liquidjs instance, and templates compiled once.
 *
 * Templates come from pull requests, so the engine is locked down:
 * - `strictVariables` / `strictFilters`: an unknown variable or filter is an error, never an empty string;
 * - `ownPropertyOnly`: `{{ vars.constructor }}`, `__proto__` and friends do not resolve (prototype access);
 * - no `include`, `render` or `layout` tags (they could read files), and an empty in-memory template map
 *   behind them in case a tag slips through;
 * - no filters that read the clock (`date*`) or randomness (`sample`): rendering is deterministic;
 * - parse/render/memory limits so a hostile template cannot hang `gough validate`.
 * liquidjs itself never evaluates JavaScript: expressions are parsed by its own grammar.
 */
import { Liquid, type Template as LiquidTemplate, Output } from 'liquidjs';

/** Tags removed from the engine: each could load another template from disk. */
export const REMOVED_TAGS = ['include', 'render', 'layout'] as const;
/** Filters removed from the engine: they read the clock or random numbers. */
export const REMOVED_FILTERS = [
  'date',
  'date_to_xmlschema',
  'date_to_rfc822',
  'date_to_string',
  'date_to_long_string',
  'sample',
] as const;

/** Upper bounds against hostile templates (characters parsed, ms per render, allocated units). */
export const LIMITS = { parseChars: 1_000_000, renderMs: 2_000, memory: 10_000_000 } as const;

function createEngine(): Liquid {
  const liquid = new Liquid({
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: true,
    lenientIf: false,
    jsTruthy: false,
    dynamicPartials: false,
    relativeReference: false,
    templates: {},
    cache: false,
    parseLimit: LIMITS.parseChars,
    renderLimit: LIMITS.renderMs,
    memoryLimit: LIMITS.memory,
    timezoneOffset: 0,
    locale: 'en-US',
  });
  for (const tag of REMOVED_TAGS) delete liquid.tags[tag];
  for (const filter of REMOVED_FILTERS) liquid.unregisterFilter(filter);
  return liquid;
}

export const engine: Liquid = createEngine();

/** A variable reference found by static analysis: `vars.rack` is `['vars', 'rack']`; a nested array is a dynamic index. */
export type Segment = string | number | Segment[];

/** One compiled template string. `literal` strings contain no Liquid markup and need no rendering. */
export type Compiled =
  | { kind: 'literal'; text: string }
  | { kind: 'template'; source: string; tpl: LiquidTemplate[]; vars: Segment[][]; parts?: Part[] };

/** A piece of a simple template: literal text, or a plain variable path (`{{ host.name }}`). */
type Part = string | (string | number)[];

const PLAIN_PATH = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*$/;
const SPECIAL_PROPS = new Set(['size', 'first', 'last']);

/**
 * Splits a parsed template into literal text and plain `{{ a.b[0] }}` outputs (no filters, no tags), or
 * returns undefined. Most template strings are this simple; they render without the engine's generator
 * machinery, ~10x faster. Anything unusual (a value that is not a string/number/boolean, a missing one)
 * falls back to the engine, so output and errors are always the engine's.
 */
function simpleParts(tpl: LiquidTemplate[]): Part[] | undefined {
  const parts: Part[] = [];
  for (const t of tpl) {
    if (t instanceof Output) {
      const content = (t.token as { content?: unknown }).content;
      if (typeof content !== 'string' || !PLAIN_PATH.test(content) || t.value.filters.length > 0) return undefined;
      const path: (string | number)[] = [];
      for (const m of content.matchAll(/([A-Za-z_]\w*)|\[(\d+)\]/g)) {
        if (m[1] !== undefined) {
          if (SPECIAL_PROPS.has(m[1])) return undefined;
          path.push(m[1]);
        } else path.push(Number(m[2]));
      }
      parts.push(path);
    } else if (t.constructor.name === 'HTML' && typeof (t as { str?: unknown }).str === 'string') {
      parts.push((t as unknown as { str: string }).str);
    } else {
      return undefined;
    }
  }
  return parts;
}

function lookup(scope: object, path: readonly (string | number)[]): string | undefined {
  let v: unknown = scope;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function runSimple(parts: Part[], scope: object): string | undefined {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = lookup(scope, p);
      if (v === undefined) return undefined;
      out += v;
    }
  }
  return out;
}

/** Cheap test: a string with no `{{` and no `{%` renders to itself. */
export function hasMarkup(s: string): boolean {
  return s.includes('{{') || s.includes('{%');
}

/** Parses and analyses one template string. Throws liquidjs' ParseError on bad syntax. */
export function compile(source: string): Compiled {
  if (!hasMarkup(source)) return { kind: 'literal', text: source };
  const tpl = engine.parse(source);
  const vars = engine.globalVariableSegmentsSync(tpl) as Segment[][];
  const parts = simpleParts(tpl);
  return parts === undefined ? { kind: 'template', source, tpl, vars } : { kind: 'template', source, tpl, vars, parts };
}

/** Renders a compiled template against a scope. Throws liquidjs' errors (undefined variable, render limit). */
export function run(c: Compiled, scope: object): string {
  if (c.kind === 'literal') return c.text;
  if (c.parts !== undefined) {
    const out = runSimple(c.parts, scope);
    if (out !== undefined) return out;
  }
  return String(engine.renderSync(c.tpl, scope));
}

/**
 * Checks a variable path against a scope the way liquidjs with `ownPropertyOnly` resolves it.
 * Returns the missing prefix (`['vars', 'rack']`) or undefined when the path resolves. A dynamic
 * segment (`vars[x]`) stops the check: it is verified when the template renders.
 */
export function missingPath(scope: object, path: readonly Segment[]): (string | number)[] | undefined {
  let value: unknown = scope;
  for (let n = 0; n < path.length; n++) {
    const seg = path[n]!;
    if (Array.isArray(seg)) return undefined;
    if (typeof value === 'string' || Array.isArray(value)) {
      const len = value.length;
      if (seg === 'size') return undefined;
      if (seg === 'first' || seg === 'last') {
        if (len === 0) return prefix(path, n);
        value = seg === 'first' ? value[0] : value[len - 1];
        continue;
      }
      const idx = typeof seg === 'number' ? seg : /^-?\d+$/.test(seg) ? Number(seg) : Number.NaN;
      if (Array.isArray(value) && Number.isInteger(idx)) {
        const i = idx < 0 ? len + idx : idx;
        if (i < 0 || i >= len) return prefix(path, n);
        value = value[i];
        continue;
      }
      return prefix(path, n);
    }
    if (value !== null && typeof value === 'object' && Object.hasOwn(value, seg)) {
      value = (value as Record<string | number, unknown>)[seg];
      if (value === undefined) return prefix(path, n);
      continue;
    }
    return prefix(path, n);
  }
  return undefined;
}

/** The path up to and including segment `n`: no segment before a missing one is dynamic (that returns first). */
function prefix(path: readonly Segment[], n: number): (string | number)[] {
  return path.slice(0, n + 1) as (string | number)[];
}

/** `['host', 'macs', 0]` → `host.macs[0]` */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(p)) out += out === '' ? p : `.${p}`;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}
