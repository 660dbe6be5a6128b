/**
 * `gough render`: the built CLI (`node dist/cli/bin.js`; `npm test` builds before vitest — when running this file
 * alone, run `npx tsc -p tsconfig.build.json` first) for the main paths, and the same `main()` in-process for the
 * many argument cases (spawning the CLI costs a second each).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { DesiredState } from '../../../src/model/index.js';
import { hasErrors, loadDirectory } from '../../../src/repo/index.js';

const exec = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = resolve(ROOT, 'dist/cli/bin.js');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

async function gough(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [BIN, ...args], { cwd, env: { PATH: process.env['PATH'] } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** Runs `gough ARGS` in this process, as bin.js would. */
async function goughInProcess(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    ({
      write: (chunk: string | Uint8Array) => {
        append(String(chunk));
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  const code = await main(args, {
    stdout: sink((s) => {
      stdout += s;
    }),
    stderr: sink((s) => {
      stderr += s;
    }),
    env: {},
    cwd,
  });
  return { code, stdout, stderr };
}

let desired: DesiredState;
const scratch = mkdtempSync(join(tmpdir(), 'gough-render-cli-'));

beforeAll(async () => {
  const loaded = await loadDirectory(resolve(ROOT, 'example-repo'));
  expect(hasErrors(loaded.diagnostics), JSON.stringify(loaded.diagnostics)).toBe(false);
  desired = loaded.desired;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('gough render', () => {
  it('prints the sections of an edge host (golden)', async () => {
    const r = await gough(['render', 'edge-01', 'example-repo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const file = resolve(import.meta.dirname, 'golden/cli-edge-01.txt');
    if (UPDATE) writeFileSync(file, r.stdout);
    expect(r.stdout).toBe(readFileSync(file, 'utf8'));
  });

  it('prints headers in order and the specHash the loader computed, for every example host', async () => {
    for (const name of ['r1-n01', 'db-01', 'edge-08']) {
      // in-process: the built binary is covered by the golden test
      const r = await goughInProcess(['render', name, 'example-repo']);
      expect(r.code).toBe(0);
      const rendered = desired.rendered.get(name);
      expect(rendered).toBeDefined();
      const headers = r.stdout.split('\n').filter((l) => /^# (user-data|meta-data|ipxe|specHash: .*)$/.test(l));
      expect(headers).toEqual([`# specHash: ${rendered?.specHash}`, '# user-data', '# meta-data', '# ipxe']);
      expect(r.stdout).toContain(`# user-data\n${rendered?.userData}# meta-data\n${rendered?.metaData}# ipxe\n${rendered?.ipxeScript}`);
    }
  });

  it.each(['user-data', 'meta-data', 'ipxe'] as const)('--only %s prints exactly that part', async (part) => {
    const r = await goughInProcess(['render', 'db-04', 'example-repo', '--only', part]);
    expect(r.code).toBe(0);
    const rendered = desired.rendered.get('db-04');
    const expected = { 'user-data': rendered?.userData, 'meta-data': rendered?.metaData, ipxe: rendered?.ipxeScript }[part];
    expect(r.stdout).toBe(expected);
  });

  it('renders from the current directory when DIR is left out', async () => {
    const r = await goughInProcess(['render', 'edge-02', '--only', 'meta-data'], resolve(ROOT, 'example-repo'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(desired.rendered.get('edge-02')?.metaData);
  });

  it('exits 1 with the diagnostics when the host cannot be rendered', async () => {
    const repo = join(scratch, 'broken');
    cpSync(resolve(ROOT, 'example-repo'), repo, { recursive: true, dereference: true }); // a copy, even of a symlinked tree
    const f = join(repo, 'hosts/edge1/edge-03.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('  vars:\n    zone: "a"\n', ''));
    const r = await gough(['render', 'edge-03', repo]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/hosts\/edge1\/edge-03\.yaml:\d+:\d+: error\[template-var\]: Template "edge-node" uses "vars\.zone"/);
    expect(r.stderr).toContain('gough render: Host "edge-03" cannot be rendered');
    const other = await goughInProcess(['render', 'edge-04', repo, '--only', 'meta-data']);
    expect(other.code).toBe(0);
    expect(other.stderr).toContain('note: the repository has 3 errors');
  });

  it('exits 1 for a host the repository does not define', async () => {
    const r = await goughInProcess(['render', 'nope', 'example-repo']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('gough render: Host "nope" is not defined in "example-repo"\n');
  });

  it.each([
    [[], 'expected a host name'],
    [['edge-01', 'example-repo', 'extra'], 'expected HOST [DIR]'],
    [['edge-01', 'example-repo', '--only', 'kernel'], 'unknown part "kernel"'],
    [['edge-01', 'example-repo', '--bogus'], "Unknown option '--bogus'"],
    [['edge-01', 'no-such-dir'], 'Cannot read directory'],
  ])('exits 2 on usage errors: %j', async (args, message) => {
    const r = await goughInProcess(['render', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--help explains the command', async () => {
    const r = await goughInProcess(['render', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: gough render HOST \[DIR\] \[--only user-data\|meta-data\|ipxe\]/);
  });
});
