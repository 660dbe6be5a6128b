/**
 * GitHub webhook deliveries: HMAC-SHA256 signature check (`X-Hub-Signature-256: sha256=<hex>`, constant-time
 * compare over the raw body) and `push` payload parsing. Nothing here logs or returns the secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GoughError } from '../model/index.js';

/** True when `header` is the HMAC-SHA256 of `rawBody` under `secret`. A missing or malformed header is false. */
export function verifySignature(secret: string, rawBody: Uint8Array, header: string | undefined): boolean {
  if (secret === '' || header === undefined) return false;
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(m[1]!.toLowerCase(), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `sha256=<hex>` for a body (tests, and clients that send webhooks). */
export function signBody(secret: string, rawBody: Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export type PushEvent = { ref: string; before: string; after: string; repository?: string; deleted: boolean };

/** Parses a `push` event body; throws `bad-response` when it is not one. */
export function parsePushEvent(rawBody: Uint8Array): PushEvent {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(rawBody));
  } catch {
    throw new GoughError('bad-response', 'Cannot parse the push event: the body is not JSON');
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o.ref !== 'string' || typeof o.after !== 'string')
    throw new GoughError('bad-response', 'Cannot parse the push event: "ref" or "after" is missing');
  const repo = o.repository as { full_name?: unknown } | undefined;
  const e: PushEvent = {
    ref: o.ref,
    before: typeof o.before === 'string' ? o.before : '',
    after: o.after,
    deleted: o.deleted === true,
  };
  if (repo && typeof repo.full_name === 'string') e.repository = repo.full_name;
  return e;
}
