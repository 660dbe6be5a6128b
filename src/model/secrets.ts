import type { SecretRef } from './resources.js';

/** A function that resolves a secret reference; the composition root (cli/) provides the real one. */
export type SecretResolver = (ref: SecretRef) => Promise<string>;

/** Describes a reference without its value, for messages: `env:NAME` or `file:PATH#key`. */
export function describeSecretRef(ref: SecretRef): string {
  return 'env' in ref ? `env:${ref.env}` : `file:${ref.file}${ref.key ? `#${ref.key}` : ''}`;
}
