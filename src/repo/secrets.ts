/**
 * Literal-secret detection. Secrets live outside Git and are referenced (`{env: NAME}` or `{file: PATH, key: K}`);
 * a string (or number) under a secret-looking property name, or credentials inside a URL, is a `literal-secret`.
 * Messages never contain the value.
 */
import { describePath } from './pointer.js';

/** Property names that hold secrets: password, passwd, secret, token, apiKey, api_key, credentials, privateKey… */
export const SECRET_KEY = /pass(word|wd|phrase)|secret|token|api[-_]?key|credential|private[-_]?key/i;
const URL_CREDENTIALS = /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i;
/** Keys of a secret reference or a template variable declaration: their values are not secrets. */
const REF_KEYS = new Set(['env', 'file', 'key', 'description', 'default']);
const TEMPLATE_EXPRESSION = /^\s*\{\{[^{}]*\}\}\s*$/;

export type LiteralSecret = { path: string[]; message: string };

const secretKeyCache = new Map<string, boolean>();
/** SECRET_KEY.test, memoised: the same few property names recur in every host. */
function isSecretKey(k: string): boolean {
  let r = secretKeyCache.get(k);
  if (r === undefined) {
    r = SECRET_KEY.test(k);
    if (secretKeyCache.size < 10_000) secretKeyCache.set(k, r);
  }
  return r;
}

export function findLiteralSecrets(data: unknown): LiteralSecret[] {
  const out: LiteralSecret[] = [];
  const path: string[] = [];
  const hit = (message: (where: string) => string, extra: string[] = []): void => {
    const p = [...path, ...extra];
    out.push({ path: p, message: message(describePath(p)) });
  };
  const walk = (v: unknown, key: string | undefined): void => {
    const secretKey = key !== undefined && isSecretKey(key);
    if (typeof v === 'string') {
      if (secretKey && v.trim() !== '' && !TEMPLATE_EXPRESSION.test(v)) {
        hit(
          (w) =>
            `Literal secret at ${w}: reference it instead ({env: NAME} or {file: PATH, key: KEY}) and keep the value out of Git`,
        );
      } else if (v.includes('@') && URL_CREDENTIALS.test(v)) {
        hit((w) => `Credentials written in a URL at ${w}: remove "user:password@" and give them as a secret reference`);
      }
      return;
    }
    if (typeof v === 'number' && secretKey) {
      hit((w) => `Literal secret at ${w}: reference it instead ({env: NAME} or {file: PATH, key: KEY})`);
      return;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(String(i));
        walk(v[i], key);
        path.pop();
      }
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const child = (v as Record<string, unknown>)[k];
        path.push(k);
        if (isSecretKey(k) && child !== null && typeof child === 'object' && !Array.isArray(child)) {
          // A secret-named template variable declaration `{description, default}`: its default is the literal.
          const def = (child as Record<string, unknown>)['default'];
          if (
            (typeof def === 'string' && def.trim() !== '' && !TEMPLATE_EXPRESSION.test(def)) ||
            typeof def === 'number'
          ) {
            hit((w) => `Literal secret at ${w}: secret variables cannot have a default in Git`, ['default']);
          }
          // `…Ref` properties are secret references: their shape is the schema's business.
          const refLike = k.endsWith('Ref') || Object.keys(child).every((ck) => REF_KEYS.has(ck));
          walk(child, refLike ? undefined : k);
        } else {
          // Inside a secret-named mapping (`chpasswd: {list: ...}`) every value is secret too.
          walk(child, secretKey ? key : k);
        }
        path.pop();
      }
    }
  };
  walk(data, undefined);
  return out;
}
