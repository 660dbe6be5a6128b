/**
 * The JSON Schemas in schemas/ and the TypeScript types in src/model/resources.ts must describe the same
 * resources. Both are reduced to one normal form (properties, optionality, literal unions, arrays, maps) — the
 * types through the TypeScript compiler API — and compared. Adding a field to one and not the other fails here.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const RESOURCES = join(ROOT, 'src/model/resources.ts');
const KINDS = {
  Site: 'site',
  Host: 'host',
  Template: 'template',
  Policy: 'policy',
  RepoConfig: 'repo-config',
} as const;
type KindName = keyof typeof KINDS;

type Scalar = string | number | boolean;
type Shape =
  | { t: 'string' | 'number' | 'boolean' | 'unknown' }
  | { t: 'literal'; v: Scalar[] }
  | { t: 'array'; items: Shape }
  | { t: 'object'; props: Record<string, { optional: boolean; shape: Shape }>; extra?: Shape }
  | { t: 'union'; of: Shape[] };

function union(members: Shape[]): Shape {
  const flat: Shape[] = [];
  const lits = new Set<Scalar>();
  for (const m of members) {
    if (m.t === 'union') flat.push(...m.of);
    else flat.push(m);
  }
  const rest: Shape[] = [];
  for (const m of flat) {
    if (m.t === 'literal') for (const v of m.v) lits.add(v);
    else rest.push(m);
  }
  if (lits.has(true) && lits.has(false)) {
    lits.delete(true);
    lits.delete(false);
    rest.push({ t: 'boolean' });
  }
  if (lits.size > 0) rest.push({ t: 'literal', v: [...lits].sort((a, b) => String(a).localeCompare(String(b))) });
  const seen = new Map<string, Shape>();
  for (const m of rest) seen.set(JSON.stringify(m), m);
  const out = [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, m]) => m);
  return out.length === 1 ? out[0]! : { t: 'union', of: out };
}

// ---- TypeScript side

function shapesFromTypes(file: string): Record<KindName, Shape> {
  const program = ts.createProgram([file], {
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file)!;
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!);
  const toShape = (type: ts.Type, depth: number): Shape => {
    if (depth > 30) throw new Error('type too deep');
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return { t: 'unknown' };
    if (type.flags & ts.TypeFlags.Boolean) return { t: 'boolean' };
    if (type.isUnion()) {
      return union(type.types.filter((m) => !(m.flags & ts.TypeFlags.Undefined)).map((m) => toShape(m, depth + 1)));
    }
    if (type.flags & ts.TypeFlags.String) return { t: 'string' };
    if (type.flags & ts.TypeFlags.Number) return { t: 'number' };
    if (type.isStringLiteral() || type.isNumberLiteral()) return { t: 'literal', v: [type.value] };
    if (type.flags & ts.TypeFlags.BooleanLiteral) return { t: 'literal', v: [checker.typeToString(type) === 'true'] };
    if (checker.isArrayType(type)) {
      return { t: 'array', items: toShape(checker.getTypeArguments(type as ts.TypeReference)[0]!, depth + 1) };
    }
    if (type.flags & ts.TypeFlags.Object) {
      const props: Record<string, { optional: boolean; shape: Shape }> = {};
      for (const p of checker.getPropertiesOfType(type)) {
        props[p.name] = {
          optional: (p.flags & ts.SymbolFlags.Optional) !== 0,
          shape: toShape(checker.getTypeOfSymbol(p), depth + 1),
        };
      }
      const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
      return index ? { t: 'object', props, extra: toShape(index.type, depth + 1) } : { t: 'object', props };
    }
    throw new Error(`Unsupported type ${checker.typeToString(type)}`);
  };
  const out = {} as Record<KindName, Shape>;
  for (const kind of Object.keys(KINDS) as KindName[]) {
    const sym = exports.find((e) => e.name === kind);
    if (!sym) throw new Error(`resources.ts exports no type ${kind}`);
    out[kind] = toShape(checker.getDeclaredTypeOfSymbol(sym), 0);
  }
  return out;
}

// ---- JSON Schema side

type Schema = Record<string, unknown> | boolean;

function shapeFromSchema(s: Schema, root: Record<string, unknown>, depth = 0): Shape {
  if (depth > 30) throw new Error('schema too deep');
  if (s === true) return { t: 'unknown' };
  if (s === false) throw new Error('false schema');
  if (typeof s.$ref === 'string') {
    const m = /^#\/\$defs\/(.+)$/.exec(s.$ref);
    if (!m) throw new Error(`Unsupported $ref ${s.$ref}`);
    return shapeFromSchema((root.$defs as Record<string, Schema>)[m[1]!]!, root, depth + 1);
  }
  if ('const' in s) return { t: 'literal', v: [s.const as Scalar] };
  if (Array.isArray(s.enum)) return union(s.enum.map((v) => ({ t: 'literal', v: [v as Scalar] })));
  const alts = (s.oneOf ?? s.anyOf) as Schema[] | undefined;
  if (alts) return union(alts.map((a) => shapeFromSchema(a, root, depth + 1)));
  const type = s.type;
  if (Array.isArray(type)) return union(type.map((t) => shapeFromSchema({ ...s, type: t }, root, depth + 1)));
  switch (type) {
    case 'string':
      return { t: 'string' };
    case 'integer':
    case 'number':
      return { t: 'number' };
    case 'boolean':
      return { t: 'boolean' };
    case 'array':
      return { t: 'array', items: shapeFromSchema(s.items as Schema, root, depth + 1) };
    case 'object': {
      const required = new Set((s.required as string[] | undefined) ?? []);
      const props: Record<string, { optional: boolean; shape: Shape }> = {};
      for (const [k, v] of Object.entries((s.properties as Record<string, Schema> | undefined) ?? {})) {
        props[k] = { optional: !required.has(k), shape: shapeFromSchema(v, root, depth + 1) };
      }
      const ap = s.additionalProperties;
      if (ap === undefined) throw new Error('object schema without additionalProperties: say true, false or a schema');
      return ap === false
        ? { t: 'object', props }
        : { t: 'object', props, extra: shapeFromSchema(ap as Schema, root, depth + 1) };
    }
    case undefined:
      if (s.properties === undefined && s.items === undefined) return { t: 'unknown' };
      throw new Error('schema with properties/items but no type');
    default:
      throw new Error(`Unsupported schema type ${String(type)}`);
  }
}

function loadSchema(kind: KindName): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'schemas', `${KINDS[kind]}.schema.json`), 'utf8')) as Record<
    string,
    unknown
  >;
}

// ---- comparison

/** Human-readable differences between two shapes (empty when equal). */
function diffShapes(a: Shape, b: Shape, path = '$'): string[] {
  if (a.t !== b.t) return [`${path}: types have ${a.t}, schema has ${b.t}`];
  if (a.t === 'literal' && b.t === 'literal') {
    return JSON.stringify(a.v) === JSON.stringify(b.v)
      ? []
      : [`${path}: types allow ${JSON.stringify(a.v)}, schema allows ${JSON.stringify(b.v)}`];
  }
  if (a.t === 'array' && b.t === 'array') return diffShapes(a.items, b.items, `${path}[]`);
  if (a.t === 'union' && b.t === 'union') {
    if (a.of.length !== b.of.length)
      return [`${path}: types have ${a.of.length} alternatives, schema has ${b.of.length}`];
    return a.of.flatMap((m, i) => diffShapes(m, b.of[i]!, `${path}|${i}`));
  }
  if (a.t === 'object' && b.t === 'object') {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(a.props), ...Object.keys(b.props)])) {
      const pa = a.props[k];
      const pb = b.props[k];
      if (!pa) out.push(`${path}.${k}: in the schema, missing from the types`);
      else if (!pb) out.push(`${path}.${k}: in the types, missing from the schema`);
      else {
        if (pa.optional !== pb.optional) {
          out.push(
            `${path}.${k}: ${pa.optional ? 'optional' : 'required'} in the types, ${pb.optional ? 'optional' : 'required'} in the schema`,
          );
        }
        out.push(...diffShapes(pa.shape, pb.shape, `${path}.${k}`));
      }
    }
    if (!a.extra !== !b.extra)
      out.push(`${path}: ${a.extra ? 'types' : 'schema'} allow extra keys, the other does not`);
    else if (a.extra && b.extra) out.push(...diffShapes(a.extra, b.extra, `${path}{*}`));
    return out;
  }
  return [];
}

// ---- tests

const types = shapesFromTypes(RESOURCES);

describe('schemas/ and src/model/resources.ts describe the same resources', () => {
  test.each(Object.keys(KINDS) as KindName[])('%s', (kind) => {
    const schema = loadSchema(kind);
    expect(diffShapes(types[kind], shapeFromSchema(schema, schema))).toEqual([]);
  });
});

describe('the drift check catches drift', () => {
  test('a field added to a schema only', () => {
    const schema = loadSchema('Host');
    const spec = (schema.properties as Record<string, Record<string, unknown>>).spec!;
    (spec.properties as Record<string, unknown>).rackUnit = { type: 'integer', description: 'U position' };
    expect(diffShapes(types.Host, shapeFromSchema(schema, schema))).toEqual([
      '$.spec.rackUnit: in the schema, missing from the types',
    ]);
  });

  test('a field made required in a schema only, and a new enum value', () => {
    const schema = loadSchema('Host');
    const spec = (schema.properties as Record<string, Record<string, unknown>>).spec!;
    (spec.required as string[]).push('os');
    ((spec.properties as Record<string, Record<string, unknown>>).power!.enum as string[]).push('cycle');
    expect(diffShapes(types.Host, shapeFromSchema(schema, schema))).toEqual([
      '$.spec.power: types allow ["off","on"], schema allows ["cycle","off","on"]',
      '$.spec.os: optional in the types, required in the schema',
    ]);
  });

  test('a field added to the types only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gough-drift-'));
    const file = join(dir, 'resources.ts');
    const src = readFileSync(RESOURCES, 'utf8').replace(
      '  protect?: boolean;\n',
      '  protect?: boolean;\n  drainFirst?: boolean;\n',
    );
    expect(src).toContain('drainFirst');
    writeFileSync(file, src);
    const mutated = shapesFromTypes(file);
    const schema = loadSchema('Policy');
    expect(diffShapes(mutated.Policy, shapeFromSchema(schema, schema))).toEqual([
      '$.spec.drainFirst: in the types, missing from the schema',
    ]);
  });
});

describe('every schema field has a description (they are the reference docs)', () => {
  test.each(Object.keys(KINDS) as KindName[])('%s', (kind) => {
    const missing: string[] = [];
    const visit = (s: unknown, path: string): void => {
      if (s === null || typeof s !== 'object') return;
      const o = s as Record<string, unknown>;
      if (typeof o.description !== 'string' || o.description.trim() === '') missing.push(path);
      for (const [k, v] of Object.entries((o.properties as Record<string, unknown>) ?? {})) visit(v, `${path}.${k}`);
      if (o.items) visit(o.items, `${path}[]`);
      if (o.additionalProperties && typeof o.additionalProperties === 'object')
        visit(o.additionalProperties, `${path}{*}`);
      for (const [i, v] of (((o.oneOf ?? o.anyOf) as unknown[]) ?? []).entries()) visit(v, `${path}|${i}`);
    };
    const schema = loadSchema(kind);
    visit(schema, '$');
    for (const [k, v] of Object.entries(schema.$defs as Record<string, unknown>)) visit(v, `$defs.${k}`);
    expect(missing).toEqual([]);
    expect(schema.$id).toBe(`https://gough.dev/schemas/${KINDS[kind]}.schema.json`);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
  });
});
