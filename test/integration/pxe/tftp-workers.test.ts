/**
 * Gough's TFTP server with its transfers on worker threads (the default) and on its own thread (`workers: 0`), run
 * from the build on 127.0.0.1 and an ephemeral port, fetched by real atftp clients.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTftp } from '../../../src/drivers/pxe/index.js';
import { waitFor } from '../../support/netns.js';
import { type TftpChild, requireBuild, startTftpChild } from './fixture.js';

const W = mkdtempSync(join(tmpdir(), 'gough-tftp-workers-'));
const FILES = join(W, 'root');
const OUT = join(W, 'out');
const BIG = randomBytes(700 * 1024 + 17);
const TEXT = 'one\ntwo\r\nthree\n';
const children: ChildProcess[] = [];

const startServer = (workers: number): Promise<TftpChild> => startTftpChild(FILES, workers, children);

function atftp(port: number, remote: string, local: string, options: string[]): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(
      'atftp',
      [...options.flatMap((o) => ['--option', o]), '-g', '-r', remote, '-l', join(OUT, local), '127.0.0.1', String(port)],
      { stdio: 'ignore' },
    );
    c.on('exit', (code) => resolve(code ?? -1));
  });
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()));

/** Twelve concurrent fetches with a mix of options; every file must arrive byte-identical with one event each. */
async function storm(s: TftpChild): Promise<void> {
  const options = [[], ['blksize 1428'], ['blksize 1468', 'windowsize 8', 'tsize 0'], ['blksize 512', 'timeout 2']];
  const codes = await Promise.all(
    Array.from({ length: 12 }, (_, i) => atftp(s.port, 'big.bin', `w${s.workers}-${i}.bin`, options[i % 4] ?? [])),
  );
  expect(codes).toEqual(Array(12).fill(0));
  for (let i = 0; i < 12; i++) expect(readFileSync(join(OUT, `w${s.workers}-${i}.bin`)).equals(BIG)).toBe(true);
  const fetches = await waitFor('12 tftp-fetch events', 5000, () => {
    const e = s.events().filter((x) => x.kind === 'tftp-fetch');
    return e.length >= 12 ? e : undefined;
  });
  expect(fetches).toHaveLength(12);
  for (const e of fetches) expect(e).toMatchObject({ file: 'big.bin', bytes: BIG.length, address: '127.0.0.1' });
}

describe('Gough TFTP transfers on worker threads and on the main thread (atftp, tftp-hpa)', () => {
  beforeAll(() => {
    requireBuild();
    for (const tool of ['atftp', 'tftp']) {
      const found = (process.env.PATH ?? '').split(':').some((d) => {
        try {
          accessSync(join(d, tool), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      });
      if (!found) throw new Error(`This test needs ${tool} (atftp, tftp-hpa; run npm run test:deps)`);
    }
    mkdirSync(FILES, { recursive: true });
    mkdirSync(OUT);
    writeFileSync(join(FILES, 'big.bin'), BIG);
    writeFileSync(join(FILES, 'text.txt'), TEXT);
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(W, { recursive: true, force: true });
  });

  it('serves concurrent fetches through 2 worker threads: identical bytes and a tftp-fetch event per transfer', async () => {
    const s = await startServer(2);
    expect(s.workers).toBe(2);
    await storm(s);
    // Refusals are answered by the main thread, with an event too.
    expect(await atftp(s.port, '../etc/passwd', 'refused.bin', [])).not.toBe(0);
    await waitFor('a tftp-error event', 3000, () => s.events().some((e) => e.kind === 'tftp-error'));
    s.child.kill('SIGTERM');
    await exited(s.child);
  });

  it('serves the same on its own thread with workers: 0, netascii included', async () => {
    const s = await startServer(0);
    expect(s.workers).toBe(0);
    await storm(s);
    // tftp-hpa's client in ascii mode: the server sends netascii, the client turns it back.
    execFileSync('tftp', ['127.0.0.1', String(s.port), '-m', 'ascii', '-c', 'get', 'text.txt', join(OUT, 'text.txt')]);
    expect(readFileSync(join(OUT, 'text.txt'), 'utf8')).toBe(TEXT);
    s.child.kill('SIGTERM');
    await exited(s.child);
  });

  it('close() during a transfer aborts it and terminates the workers: the process then exits by itself', async () => {
    const s = await startServer(2);
    // A client that requests a file and never acknowledges: the transfer stays in flight (retransmitting).
    const client = createSocket('udp4');
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    let firstData = false;
    client.on('message', (m) => {
      if (m[1] === 3) firstData = true;
    });
    client.send(encodeTftp({ op: 'RRQ', filename: 'big.bin', mode: 'octet', options: {} }), s.port, '127.0.0.1');
    await waitFor('the first DATA block', 5000, () => firstData);
    s.child.kill('SIGTERM');
    const t0 = Date.now();
    await exited(s.child);
    client.close();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(s.child.exitCode).toBe(0);
    const closed = JSON.parse(/^CLOSED (.*)$/m.exec(s.output())?.[1] ?? '{}');
    expect(closed).toEqual({ activeBefore: 1, active: 0, workers: 0 });
    // The aborted transfer produced no tftp-fetch.
    expect(s.events().filter((e) => e.kind === 'tftp-fetch')).toEqual([]);
  });
});
