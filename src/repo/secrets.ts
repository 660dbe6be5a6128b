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

export function findLiteralSecrets(data: unknown): LiteralSecret[] {
  const out: LiteralSecret[] = [];
  const walk = (v: unknown, path: string[], key: string | undefined): void => {
    const secretKey = key !== undefined && SECRET_KEY.test(key);
    if (typeof v === 'string') {
      if (secretKey && v.trim() !== '' && !TEMPLATE_EXPRESSION.test(v)) {
        out.push({
          path,
          message: `Literal secret at ${describePath(path)}: reference it instead ({env: NAME} or {file: PATH, key: KEY}) and keep the value out of Git`,
        });
      } else if (URL_CREDENTIALS.test(v)) {
        out.push({
          path,
          message: `Credentials written in a URL at ${describePath(path)}: remove "user:password@" and give them as a secret reference`,
        });
      }
      return;
    }
    if (typeof v === 'number' && secretKey) {
      out.push({
        path,
        message: `Literal secret at ${describePath(path)}: reference it instead ({env: NAME} or {file: PATH, key: KEY})`,
      });
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        walk(item, [...path, String(i)], key);
      });
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        // A secret-named template variable declaration `{description, default}`: its default is the literal.
        if (SECRET_KEY.test(k) && child !== null && typeof child === 'object' && !Array.isArray(child)) {
          const def = (child as Record<string, unknown>)['default'];
          if (
            (typeof def === 'string' && def.trim() !== '' && !TEMPLATE_EXPRESSION.test(def)) ||
            typeof def === 'number'
          ) {
            out.push({
              path: [...path, k, 'default'],
              message: `Literal secret at ${describePath([...path, k, 'default'])}: secret variables cannot have a default in Git`,
            });
          }
          // `…Ref` properties are secret references: their shape is the schema's business.
          const refLike = k.endsWith('Ref') || Object.keys(child).every((ck) => REF_KEYS.has(ck));
          walk(child, [...path, k], refLike ? undefined : k);
          continue;
        }
        // Inside a secret-named mapping (`chpasswd: {list: ...}`) every value is secret too.
        walk(child, [...path, k], secretKey ? key : k);
      }
    }
  };
  walk(data, [], undefined);
  return out;
}
