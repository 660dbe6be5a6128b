import { describe, expect, it } from 'vitest';
import {
  LIFECYCLE_OF_STATUS,
  NODE_STATUS,
  lifecycleOfStatus,
  oauthHeader,
  parseApiKey,
  parseRetryAfter,
  powerOf,
} from '../../../src/drivers/maas/index.js';
import { parseOauthHeader } from '../../../src/lab/maas-emulator/index.js';
import { LIFECYCLES } from '../../../src/model/index.js';

describe('OAuth 1.0 PLAINTEXT header', () => {
  const creds = parseApiKey('ck18chars000000000:tk18chars000000000:secret32chars00000000000000000000');

  it('has the exact shape MAAS and gomaasapi use', () => {
    expect(oauthHeader(creds, { nonce: 'n-1', timestamp: 1700000000 })).toBe(
      'OAuth realm="", oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="ck18chars000000000", ' +
        'oauth_token="tk18chars000000000", oauth_signature="%26secret32chars00000000000000000000", oauth_nonce="n-1", oauth_timestamp="1700000000"',
    );
  });

  it('uses a fresh nonce and the current timestamp on every call', () => {
    const a = parseOauthHeader(oauthHeader(creds))!;
    const b = parseOauthHeader(oauthHeader(creds))!;
    expect(a['oauth_nonce']).not.toBe(b['oauth_nonce']);
    expect(Math.abs(Number(a['oauth_timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(a['oauth_signature']).toBe('&secret32chars00000000000000000000');
  });

  it('rejects a malformed key without repeating it', () => {
    for (const k of ['', 'a:b', 'a::c', 'a:b:c:d']) {
      expect(() => parseApiKey(k)).toThrow(expect.objectContaining({ code: 'auth-failed' }));
    }
    try {
      parseApiKey('only:twoSECRETPART');
    } catch (e) {
      expect((e as Error).message).not.toContain('SECRETPART');
    }
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('Tue, 14 Nov 2023 22:13:30 GMT', Date.parse('Tue, 14 Nov 2023 22:13:20 GMT'))).toBe(10_000);
  });
});

describe('MAAS status → lifecycle', () => {
  it('maps every MAAS status code to a Gough lifecycle', () => {
    for (const code of Object.values(NODE_STATUS)) expect(LIFECYCLES).toContain(LIFECYCLE_OF_STATUS[code]);
    expect(Object.keys(LIFECYCLE_OF_STATUS)).toHaveLength(23);
  });

  it.each([
    [NODE_STATUS.NEW, 'new'],
    [NODE_STATUS.COMMISSIONING, 'commissioning'],
    [NODE_STATUS.TESTING, 'commissioning'],
    [NODE_STATUS.READY, 'ready'],
    [NODE_STATUS.ALLOCATED, 'allocated'],
    [NODE_STATUS.RESERVED, 'allocated'],
    [NODE_STATUS.DEPLOYING, 'deploying'],
    [NODE_STATUS.DEPLOYED, 'deployed'],
    [NODE_STATUS.RELEASING, 'releasing'],
    [NODE_STATUS.DISK_ERASING, 'releasing'],
    [NODE_STATUS.FAILED_COMMISSIONING, 'failed'],
    [NODE_STATUS.FAILED_DEPLOYMENT, 'failed'],
    [NODE_STATUS.FAILED_RELEASING, 'failed'],
    [NODE_STATUS.FAILED_DISK_ERASING, 'failed'],
    [NODE_STATUS.FAILED_TESTING, 'failed'],
    [NODE_STATUS.FAILED_ENTERING_RESCUE_MODE, 'failed'],
    [NODE_STATUS.BROKEN, 'broken'],
    [NODE_STATUS.MISSING, 'unknown'],
    [NODE_STATUS.RETIRED, 'unknown'],
    [NODE_STATUS.RESCUE_MODE, 'unknown'],
    [99, 'unknown'],
    [undefined, 'unknown'],
  ])('status %s → %s', (code, lc) => {
    expect(lifecycleOfStatus(code)).toBe(lc);
  });

  it('keeps error and unknown power apart from off', () => {
    expect(['on', 'off', 'error', 'unknown', undefined, 'weird'].map(powerOf)).toEqual(['on', 'off', 'error', 'unknown', 'unknown', 'unknown']);
  });
});
