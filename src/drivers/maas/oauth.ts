/**
 * OAuth 1.0 PLAINTEXT signing as MAAS expects it (gomaasapi `oauth.go`, maas `src/apiclient/creds.py`):
 * the API key is `consumer_key:token_key:token_secret`, the consumer secret is empty, and every request carries a
 * fresh nonce and timestamp. Pure apart from the nonce/clock, which can be injected.
 */
import { randomUUID } from 'node:crypto';
import { GoughError } from '../../model/index.js';

export type MaasCredentials = { consumerKey: string; tokenKey: string; tokenSecret: string };

/** Splits an API key; the error never repeats the key. */
export function parseApiKey(apiKey: string): MaasCredentials {
  const parts = apiKey.trim().split(':');
  if (parts.length !== 3 || parts.some((p) => p === '')) {
    throw new GoughError('auth-failed', 'MAAS API key is malformed: expected three parts "consumer:token:secret"');
  }
  const [consumerKey, tokenKey, tokenSecret] = parts as [string, string, string];
  return { consumerKey, tokenKey, tokenSecret };
}

/** RFC 5849 percent-encoding (unreserved characters kept). */
export function oauthEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export type SignOptions = { nonce?: string; timestamp?: number };

/** Builds the `Authorization` header value for one request. */
export function oauthHeader(creds: MaasCredentials, opts: SignOptions = {}): string {
  const nonce = opts.nonce ?? randomUUID();
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  // PLAINTEXT signature: consumer_secret (empty) "&" token_secret, each encoded, then the whole encoded again.
  const signature = oauthEncode(`&${oauthEncode(creds.tokenSecret)}`);
  const params: [string, string][] = [
    ['oauth_version', '1.0'],
    ['oauth_signature_method', 'PLAINTEXT'],
    ['oauth_consumer_key', oauthEncode(creds.consumerKey)],
    ['oauth_token', oauthEncode(creds.tokenKey)],
    ['oauth_signature', signature],
    ['oauth_nonce', oauthEncode(nonce)],
    ['oauth_timestamp', String(timestamp)],
  ];
  return `OAuth realm="", ${params.map(([k, v]) => `${k}="${v}"`).join(', ')}`;
}
