import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/apply/index.js';
import { main } from '../../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'gough-retry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += String(d);
  });
  stderr.on('data', (d) => {
    err += String(d);
  });
  const code = await main(argv, { stdout, stderr, env: {}, cwd: dir });
  return { code, out, err };
}

describe('gough retry', () => {
  it('re-arms a terminal failure so the planner sees it no more', async () => {
    const j = Journal.open(join(dir, 'state', 'journal.sqlite'));
    const e = j.create({ id: 'a1', host: 'db-03', site: 'dc1', kind: 'deploy', reason: 'r', disruptive: false }, 'rev', '2026-01-01T00:00:00Z');
    j.markRunning(e.seq, '2026-01-01T00:00:00Z');
    j.markFailed(e.seq, { message: 'Deployment failed', code: 'provider-error' }, '2026-01-01T00:01:00Z');
    expect(j.failed('rev')).toHaveLength(1);
    j.close();
    const r = await cli(['retry', 'db-03', 'web-01', '--state-dir', 'state']);
    expect(r).toEqual({ code: 0, out: 're-armed db-03 (1 failed action)\nweb-01: nothing to re-arm\n', err: '' });
    const j2 = Journal.open(join(dir, 'state', 'journal.sqlite'));
    expect(j2.failed('rev')).toEqual([]);
    j2.close();
  });

  it('needs a host', async () => {
    const r = await cli(['retry']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/name at least one host/);
  });

  it('apply and daemon refuse an invalid configuration with a one-line reason', async () => {
    const r = await cli(['apply', '--repo-path', 'x', '--poll', 'soon']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--poll needs a number/);
    const d = await cli(['daemon']);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/Daemon configuration \(flags\) is invalid/);
  });
});
