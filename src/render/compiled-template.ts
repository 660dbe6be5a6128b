/**
 * A Template resource compiled once: every string that holds Liquid markup is parsed and analysed a single
 * time, however many hosts use the template. Compiled forms are cached by object identity (a WeakMap, for the
 * 100,000 hosts of one load sharing one Template object) and by content (for re-loads that re-create objects).
 */
import type { Template } from '../model/index.js';
import { type Compiled, compile } from './engine.js';
import type { RenderError } from './types.js';
import { markStatic } from './yaml-emit.js';

export type Field = (string | number)[];

/** A cloud-config node: literal subtrees are kept as they are; only template strings are rendered per host. */
export type ConfigNode =
  | { t: 'literal'; value: unknown }
  | { t: 'template'; field: Field; compiled: Compiled }
  | { t: 'map'; entries: [string, ConfigNode][] }
  | { t: 'seq'; items: ConfigNode[] };

export type CompiledTemplate = {
  name: string;
  /** Every template string with the field it came from (for static variable checks). */
  strings: { field: Field; compiled: Compiled }[];
  cloudConfig?: ConfigNode;
  userData?: Compiled;
  kernelArgs?: Compiled;
  ipxe?: Compiled;
  agent: boolean;
  /** Syntax errors found while compiling; a template with errors is never rendered. */
  errors: RenderError[];
};

function syntaxMessage(name: string, err: unknown): string {
  const detail = err instanceof Error ? err.message : String(err);
  return `Template "${name}" does not parse: ${detail}`;
}

function compileNode(c: CompiledTemplate, value: unknown, field: Field): ConfigNode {
  const node = compileNodeInner(c, value, field);
  if (node.t === 'literal' && node.value !== null && typeof node.value === 'object') markStatic(node.value);
  return node;
}

function compileNodeInner(c: CompiledTemplate, value: unknown, field: Field): ConfigNode {
  if (typeof value === 'string') {
    const compiled = tryCompile(c, value, field);
    if (compiled === undefined || compiled.kind === 'literal') return { t: 'literal', value };
    return { t: 'template', field, compiled };
  }
  if (Array.isArray(value)) {
    const items = value.map((v, i) => compileNode(c, v, [...field, i]));
    return items.every((n) => n.t === 'literal') ? { t: 'literal', value } : { t: 'seq', items };
  }
  if (value !== null && typeof value === 'object') {
    const entries: [string, ConfigNode][] = Object.entries(value).map(([k, v]) => [k, compileNode(c, v, [...field, k])]);
    return entries.every(([, n]) => n.t === 'literal') ? { t: 'literal', value } : { t: 'map', entries };
  }
  return { t: 'literal', value };
}

function tryCompile(c: CompiledTemplate, source: string, field: Field): Compiled | undefined {
  try {
    const compiled = compile(source);
    if (compiled.kind === 'template') c.strings.push({ field, compiled });
    return compiled;
  } catch (err) {
    c.errors.push({ code: 'template-syntax', message: syntaxMessage(c.name, err), template: c.name, field });
    return undefined;
  }
}

function compileTemplate(t: Template): CompiledTemplate {
  const c: CompiledTemplate = { name: t.metadata.name, strings: [], agent: t.spec.agent === true, errors: [] };
  const spec = t.spec;
  if (spec.cloudConfig !== undefined) c.cloudConfig = compileNode(c, spec.cloudConfig, ['spec', 'cloudConfig']);
  const userData = spec.userData === undefined ? undefined : tryCompile(c, spec.userData, ['spec', 'userData']);
  if (userData !== undefined) c.userData = userData;
  const args = spec.boot?.kernelArgs;
  const kernelArgs = args === undefined ? undefined : tryCompile(c, args, ['spec', 'boot', 'kernelArgs']);
  if (kernelArgs !== undefined) c.kernelArgs = kernelArgs;
  const ipxeSrc = spec.boot?.ipxe;
  const ipxe = ipxeSrc === undefined ? undefined : tryCompile(c, ipxeSrc, ['spec', 'boot', 'ipxe']);
  if (ipxe !== undefined) c.ipxe = ipxe;
  if (c.agent && spec.cloudConfig === undefined) {
    c.errors.push({
      code: 'template-syntax',
      message: `Template "${c.name}" sets agent: true without cloudConfig: the agent install is added to cloudConfig`,
      template: c.name,
      field: ['spec', 'agent'],
    });
  }
  return c;
}

const byObject = new WeakMap<Template, CompiledTemplate>();
const byContent = new Map<string, CompiledTemplate>();
/** Distinct template contents kept across loads; the oldest is dropped beyond this. */
const CONTENT_CACHE_SIZE = 512;

/** The compiled form of a Template, computed once per object and per distinct content. */
export function compiledTemplate(t: Template): CompiledTemplate {
  const hit = byObject.get(t);
  if (hit !== undefined) return hit;
  const contentKey = `${t.metadata.name}\u0000${JSON.stringify(t.spec)}`;
  let c = byContent.get(contentKey);
  if (c === undefined) {
    c = compileTemplate(t);
    if (byContent.size >= CONTENT_CACHE_SIZE) {
      const oldest = byContent.keys().next().value;
      if (oldest !== undefined) byContent.delete(oldest);
    }
    byContent.set(contentKey, c);
  }
  byObject.set(t, c);
  return c;
}
