import { readFile } from 'node:fs/promises';
import { GoughError, describeSecretRef, type SecretRef, type SecretResolver } from '../model/index.js';

/**
 * Resolves `{env: NAME}` from the environment and `{file: PATH, key?: K}` from a file: the whole file
 * (trimmed) without `key`, or the `K=value` / `K: value` line with it. Errors name the reference, never a value.
 */
export function createSecretResolver(env: NodeJS.ProcessEnv): SecretResolver {
  return async (ref: SecretRef) => {
    if ('env' in ref) {
      const v = env[ref.env];
      if (v === undefined || v === '') throw new GoughError('secret-missing', `Secret ${describeSecretRef(ref)} is not set`);
      return v;
    }
    let text: string;
    try {
      text = await readFile(ref.file, 'utf8');
    } catch (e) {
      throw new GoughError('secret-missing', `Secret ${describeSecretRef(ref)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (ref.key === undefined) return text.trim();
    for (const line of text.split(/\r?\n/)) {
      const m = /^\s*([^=:#\s]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
      if (m && m[1] === ref.key) return (m[2] ?? '').replace(/^(['"])(.*)\1$/, '$2');
    }
    throw new GoughError('secret-missing', `Secret ${describeSecretRef(ref)} has no key "${ref.key}"`);
  };
}
