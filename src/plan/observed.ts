/**
 * The observed-state snapshot file (`gough plan --observed FILE.json`): what providers report, as JSON.
 * The schema is kept here (plan/ reads no files); `schemas/observed.schema.json` is the same document and a test
 * keeps them equal. Parsing is pure: text in, ObservedState out, or a GoughError naming the file.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { ObservedHost, ObservedState } from '../model/index.js';
import { GoughError, LIFECYCLES } from '../model/index.js';

export const OBSERVED_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://gough.dev/schemas/observed.schema.json',
  title: 'Gough observed-state snapshot',
  description: 'What the providers observed, as read by `gough plan --observed FILE.json`.',
  type: 'object',
  required: ['observedAt', 'hosts'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    observedAt: { type: 'string', format: 'date-time', description: 'When the observation was made (ISO 8601).' },
    hosts: { type: 'array', items: { $ref: '#/$defs/host' } },
  },
  $defs: {
    host: {
      type: 'object',
      required: ['name', 'lifecycle', 'power'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1, description: 'Host name in the repo; for an orphan, the provider hostname.' },
        site: { type: 'string', minLength: 1 },
        lifecycle: { enum: [...LIFECYCLES] },
        power: { enum: ['on', 'off', 'unknown', 'error'], description: '`unknown` and `error` are never treated as off.' },
        os: {
          type: 'object',
          required: ['distro', 'series'],
          additionalProperties: false,
          properties: { distro: { type: 'string' }, series: { type: 'string' } },
        },
        deployedSpecHash: { type: 'string', minLength: 1, description: 'specHash the provider says was deployed (workload annotation).' },
        deployedRevision: { type: 'string' },
        agent: {
          type: 'object',
          required: ['lastSeen', 'healthy'],
          additionalProperties: false,
          properties: {
            lastSeen: { type: 'string', format: 'date-time' },
            specHash: { type: 'string', minLength: 1 },
            healthy: { type: 'boolean' },
            facts: { type: 'object' },
          },
        },
        provider: {
          type: 'object',
          required: ['kind', 'id', 'status'],
          additionalProperties: false,
          description: 'Defaults to {kind: "snapshot", id: name, status: lifecycle}.',
          properties: {
            kind: { type: 'string' },
            id: { type: 'string' },
            status: { type: 'string' },
            message: { type: 'string' },
          },
        },
        macs: { type: 'array', items: { type: 'string', pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$' } },
        errors: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

type SnapshotHost = Omit<ObservedHost, 'provider' | 'errors'> & { provider?: ObservedHost['provider']; errors?: string[] };
type Snapshot = { observedAt: string; hosts: SnapshotHost[] };

let validate: ValidateFunction<Snapshot> | undefined;

function validator(): ValidateFunction<Snapshot> {
  if (!validate) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, validateFormats: true });
    ajv.addFormat('date-time', (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)));
    validate = ajv.compile<Snapshot>(OBSERVED_SCHEMA);
  }
  return validate;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(root)' : e.instancePath;
  if (e.keyword === 'additionalProperties') return `${at}: unknown property "${String(e.params['additionalProperty'])}"`;
  if (e.keyword === 'enum') return `${at}: must be one of ${(e.params['allowedValues'] as unknown[]).map((v) => `"${String(v)}"`).join(', ')}`;
  return `${at}: ${e.message ?? e.keyword}`;
}

/** Parses and validates a snapshot; errors name the file and every problem (JSON pointer paths). */
export function parseObservedSnapshot(text: string, file: string): ObservedState {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new GoughError('plan-input', `Cannot read observed state "${file}": not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const v = validator();
  if (!v(data)) {
    const problems = (v.errors ?? []).map(describe);
    throw new GoughError('plan-input', `Cannot read observed state "${file}": ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`);
  }
  const hosts = data.hosts.map((h): ObservedHost => ({
    ...h,
    provider: h.provider ?? { kind: 'snapshot', id: h.name, status: h.lifecycle },
    errors: h.errors ?? [],
  }));
  return { observedAt: data.observedAt, hosts };
}
