import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NetnsPair, createNetnsPair, requireTools, waitFor } from '../../support/netns.js';
import { type Served, desired, host, servePxe, site } from './fixture.js';

const W = mkdtempSync(join(tmpdir(), 'gough-tftp-'));
const ROOT = join(W, 'root');
const OUT = join(W, 'out');
const BIG = randomBytes(1024 * 1024 + 333);
let ns: NetnsPair;
let served: Served;

function fetchHpa(remote: string, local: string, mode = 'binary'): string {
  return ns.exec(ns.cli, 'tftp', ['10.250.0.1', '-m', mode, '-c', 'get', remote, join(OUT, local)]);
}

function fetchAtftp(remote: string, local: string, options: string[] = []): { ok: boolean; trace: string } {
  const args = options.flatMap((o) => ['--option', o]);
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns.cli, 'atftp', '--trace', ...args, '-g', '-r', remote, '-l', join(OUT, local), '10.250.0.1'],
    {
      encoding: 'utf8',
      timeout: 20_000,
    },
  );
  return { ok: r.status === 0, trace: `${r.stdout}${r.stderr}` };
}

describe('Gough TFTP with real clients (root, netns, tftp-hpa, atftp)', () => {
  beforeAll(async () => {
    requireTools('ip', 'tftp', 'atftp');
    mkdirSync(join(ROOT, 'sub'), { recursive: true });
    mkdirSync(OUT);
    writeFileSync(join(ROOT, 'big.bin'), BIG);
    writeFileSync(join(ROOT, 'sub', 'small.txt'), 'line one\nline two\n');
    writeFileSync(join(ROOT, 'empty'), '');
    writeFileSync(join(W, 'secret.txt'), 'outside the root\n');
    symlinkSync('big.bin', join(ROOT, 'inside-link'));
    symlinkSync(join(W, 'secret.txt'), join(ROOT, 'escape-link'));
    symlinkSync('/etc', join(ROOT, 'etc-dir'));
    ns = createNetnsPair('tf');
    ns.exec(ns.cli, 'ip', ['addr', 'add', '10.250.0.2/24', 'dev', 'vcli']);
    const S = site();
    served = await servePxe(ns, { site: S, hosts: desired(S, [host(1)]), tftpRoot: ROOT });
  });
  afterAll(async () => {
    await ns?.destroy();
  });

  it('tftp-hpa fetches a 1 MiB file without options (512-byte lock-step), byte-identical', () => {
    fetchHpa('big.bin', 'hpa.bin');
    expect(readFileSync(join(OUT, 'hpa.bin')).equals(BIG)).toBe(true);
  });

  it('tftp-hpa fetches from a sub-directory, an empty file, and in netascii mode', () => {
    fetchHpa('sub/small.txt', 'small.txt');
    expect(readFileSync(join(OUT, 'small.txt'), 'utf8')).toBe('line one\nline two\n');
    fetchHpa('/empty', 'empty');
    expect(statSync(join(OUT, 'empty')).size).toBe(0);
    fetchHpa('sub/small.txt', 'small-ascii.txt', 'ascii');
    expect(readFileSync(join(OUT, 'small-ascii.txt'), 'utf8')).toBe('line one\nline two\n');
  });

  it('atftp negotiates blksize, tsize, timeout and windowsize and gets identical bytes', () => {
    const r = fetchAtftp('big.bin', 'atftp.bin', ['blksize 1428', 'tsize 0', 'timeout 2', 'windowsize 8']);
    expect(r.ok).toBe(true);
    expect(r.trace).toMatch(
      /received OACK <(?=.*tsize: 1048909)(?=.*windowsize: 8)(?=.*blksize: 1428)(?=.*timeout: 2)/,
    );
    expect(readFileSync(join(OUT, 'atftp.bin')).equals(BIG)).toBe(true);
  });

  it('clamps a block size above the limit and a window above the limit', () => {
    const r = fetchAtftp('big.bin', 'atftp2.bin', ['blksize 9000', 'windowsize 200']);
    expect(r.trace).toMatch(/received OACK <(?=.*blksize: 1468)(?=.*windowsize: 16)/);
    expect(readFileSync(join(OUT, 'atftp2.bin')).equals(BIG)).toBe(true);
  });

  it('atftp without options, and a symlink that stays inside the root', () => {
    expect(fetchAtftp('inside-link', 'link.bin').ok).toBe(true);
    expect(readFileSync(join(OUT, 'link.bin')).equals(BIG)).toBe(true);
  });

  it('refuses traversal, absolute escapes and symlinks out of the root', async () => {
    for (const [name, want] of [
      ['../secret.txt', /not allowed/],
      ['sub/../../secret.txt', /not allowed/],
      ['escape-link', /outside the root/],
      ['etc-dir/hostname', /outside the root/],
      ['/etc/passwd', /not found/],
      ['missing.bin', /not found/],
    ] as const) {
      const out = `refused-${name.replace(/\W/g, '_')}`;
      const msg = fetchHpa(name, out);
      expect(msg, name).toMatch(want);
      expect(existsSync(join(OUT, out)) ? readFileSync(join(OUT, out)).length : 0, name).toBe(0);
      const a = fetchAtftp(name, `a-${out}`);
      expect(a.ok, name).toBe(false);
    }
    await waitFor(
      'refusals recorded as tftp-error events',
      3000,
      () => served.events().filter((e) => e.kind === 'tftp-error').length >= 12,
    );
  });

  it('refuses writes', () => {
    writeFileSync(join(OUT, 'upload.txt'), 'x');
    const msg = ns.exec(ns.cli, 'tftp', ['10.250.0.1', '-c', 'put', join(OUT, 'upload.txt'), 'upload.txt']);
    expect(msg).toMatch(/read-only/);
    expect(existsSync(join(ROOT, 'upload.txt'))).toBe(false);
  });

  it('serves 20 concurrent clients, each byte-identical', async () => {
    const runs = Array.from(
      { length: 20 },
      (_, i) =>
        new Promise<number>((resolve) => {
          const c = spawn('ip', [
            'netns',
            'exec',
            ns.cli,
            'atftp',
            '--option',
            'blksize 1428',
            '--option',
            'windowsize 4',
            '-g',
            '-r',
            'big.bin',
            '-l',
            join(OUT, `c${i}.bin`),
            '10.250.0.1',
          ]);
          c.on('exit', (code) => resolve(code ?? -1));
        }),
    );
    expect(await Promise.all(runs)).toEqual(Array(20).fill(0));
    for (let i = 0; i < 20; i++) expect(readFileSync(join(OUT, `c${i}.bin`)).equals(BIG)).toBe(true);
  });
});
