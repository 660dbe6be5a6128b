/**
 * The JSON Schemas in `schemas/` compiled once with ajv (2020-12, strict). The files are read relative to the
 * package root, which works from `src/` (tests) and `dist/` (built CLI) alike.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Kind } from '../model/index.js';

export const SCHEMA_FILES: Readonly<Record<Kind, string>> = {
  Site: 'site.schema.json',
  Host: 'host.schema.json',
  Template: 'template.schema.json',
  Policy: 'policy.schema.json',
  RepoConfig: 'repo-config.schema.json',
};

export const SCHEMA_DIR = new URL('../../schemas/', import.meta.url);

/** The parsed schema of a kind. */
export function schemaOf(kind: Kind): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(SCHEMA_FILES[kind], SCHEMA_DIR), 'utf8')) as Record<string, unknown>;
}

let validators: Map<Kind, ValidateFunction> | undefined;

/** The compiled validator of a kind (compiled on first use, then kept). */
export function validatorOf(kind: Kind): ValidateFunction {
  if (!validators) {
    const ajv = new Ajv2020({
      allErrors: true,
      strict: true,
      strictRequired: false,
      allowUnionTypes: true,
      verbose: true,
    });
    validators = new Map();
    for (const k of Object.keys(SCHEMA_FILES) as Kind[]) validators.set(k, ajv.compile(schemaOf(k)));
  }
  return validators.get(kind)!;
}

export type SchemaError = ErrorObject;
