import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parsePushEvent, signBody, verifySignature } from '../../../src/forge/index.js';

const body = Buffer.from('{"ref":"refs/heads/main","before":"a","after":"b","repository":{"full_name":"acme/fleet"}}');

describe('webhook signature', () => {
  it('accepts GitHub’s HMAC-SHA256 of the raw body and nothing else', () => {
    const good = `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`;
    expect(signBody('s3cret', body)).toBe(good);
    expect(verifySignature('s3cret', body, good)).toBe(true);
    expect(verifySignature('s3cret', body, good.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(verifySignature('other', body, good)).toBe(false);
    expect(verifySignature('s3cret', Buffer.concat([body, Buffer.from(' ')]), good)).toBe(false);
    expect(verifySignature('s3cret', body, undefined)).toBe(false);
    expect(verifySignature('s3cret', body, '')).toBe(false);
    expect(verifySignature('s3cret', body, `sha1=${'0'.repeat(40)}`)).toBe(false);
    expect(verifySignature('s3cret', body, good.slice(0, -2))).toBe(false);
    expect(verifySignature('', body, signBody('', body))).toBe(false);
  });

  it('parses push events', () => {
    expect(parsePushEvent(body)).toEqual({ ref: 'refs/heads/main', before: 'a', after: 'b', repository: 'acme/fleet', deleted: false });
    expect(() => parsePushEvent(Buffer.from('nope'))).toThrow(/not JSON/);
    expect(() => parsePushEvent(Buffer.from('{"zen":"x"}'))).toThrow(/"ref" or "after"/);
  });
});
