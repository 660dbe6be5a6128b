import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/cli/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  });
  return {
    stream,
    text: () => buf,
    lines: () =>
      buf
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const SECRETS = ['hunter2-pw', 'ck:tk:sec-apikey', 'ghp_tokentokentoken', 'Bearer authz-header-value', 'bmc-credential-pw', 'cookie-val'];

describe('createLogger', () => {
  it('writes JSON lines with level, ISO time and bound fields', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, base: { component: 'gough' } });
    log.child({ component: 'daemon' }).child({ site: 'dc1', pass: 'p-42' }).info({ host: 'r1-n01' }, 'deployed');
    const [line] = out.lines();
    expect(line).toMatchObject({ level: 'info', name: 'gough', component: 'daemon', site: 'dc1', pass: 'p-42', host: 'r1-n01', msg: 'deployed' });
    // every key once (JSON.parse keeps the last of duplicates, so count in the text)
    expect(out.text().match(/"component"/g)).toHaveLength(1);
    expect(typeof line?.time).toBe('string');
    expect(Number.isNaN(Date.parse(String(line?.time)))).toBe(false);
  });

  it('redacts secrets at any usual depth, in headers and in child bindings', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream });
    log.info({ password: SECRETS[0] }, 'top level');
    log.info({ site: { name: 'dc1', maas: { apiKey: SECRETS[1] } } }, 'nested');
    log.info({ github: { token: SECRETS[2] } }, 'token');
    log.info({ req: { method: 'POST', headers: { authorization: SECRETS[3], 'user-agent': 'x' } } }, 'request');
    log.info({ bmc: { address: '10.0.0.5', credentials: { user: 'admin', password: SECRETS[4] } } }, 'bmc');
    log.info({ headers: { cookie: SECRETS[5] } }, 'cookie');
    log.child({ token: SECRETS[2] }).warn('child binding');

    const text = out.text();
    for (const s of SECRETS) expect(text).not.toContain(s);
    const lines = out.lines();
    expect(lines).toHaveLength(7);
    expect(lines[0]?.password).toBe('[redacted]');
    expect(lines[1]).toMatchObject({ site: { name: 'dc1', maas: { apiKey: '[redacted]' } } });
    expect(lines[3]).toMatchObject({ req: { method: 'POST', headers: { authorization: '[redacted]', 'user-agent': 'x' } } });
    expect(lines[4]).toMatchObject({ bmc: { address: '10.0.0.5', credentials: '[redacted]' } });
    expect(lines[6]?.token).toBe('[redacted]');
  });

  it('respects the level', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, level: 'warn' });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
  });
});
