/**
 * `gough bmc` against ipmi_sim: the built CLI (`node dist/cli/bin.js`, built by `npm test` before vitest) for the
 * done-criterion, and `main()` in-process for the rest (output, --json, --host from a repo, one-line errors).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { type IpmiSimFleet, requireBinaries, startIpmiSims } from '../../support/ipmi-sim.js';

const run = promisify(execFile);
const BIN = resolve('dist/cli/bin.js');

async function cli(argv: string[], env: Record<string, string> = {}, cwd = process.cwd()): Promise<{ code: number; out: string; err: string }> {
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
  const code = await main(argv, { stdout, stderr, env, cwd });
  return { code, out, err };
}

describe('gough bmc (ipmi_sim, ipmitool)', () => {
  let fleet: IpmiSimFleet;
  let repo: string;

  beforeAll(async () => {
    requireBinaries('ipmi_sim', 'ipmitool');
    fleet = await startIpmiSims(2);
    repo = await mkdtemp(join(tmpdir(), `gough-bmc-cli-${process.pid}-`));
    const port = fleet.bmcs[1]!.port;
    await mkdir(join(repo, 'hosts'));
    await writeFile(
      join(repo, 'site.yaml'),
      `apiVersion: gough.dev/v1
kind: Site
metadata: {name: lab}
spec:
  provisioner: pxe
  pxe: {interface: lo, mode: proxy, subnet: 127.0.0.0/8, bootServer: 127.0.0.1}
  bmc: {driver: ipmi, credentialsRef: {env: LAB_BMC_PW}, username: admin}
`,
    );
    await writeFile(
      join(repo, 'hosts', 'n1.yaml'),
      `apiVersion: gough.dev/v1
kind: Host
metadata: {name: n1}
spec:
  site: lab
  hardware:
    macs: ["52:54:00:00:00:01"]
    arch: amd64
    firmware: uefi
    bmc: {driver: ipmi, address: 127.0.0.1, port: ${port}}
  state: ready
  power: off
`,
    );
  });
  afterAll(async () => {
    await fleet?.stop();
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  it('the built CLI powers on an ipmi_sim BMC, and its script records it', async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm test does) first`);
    const b = fleet.bmcs[0]!;
    const { stdout } = await run('node', [BIN, 'bmc', 'on', '--address', `127.0.0.1:${b.port}`, '--user', 'admin', '--password-env', 'X'], {
      env: { ...process.env, X: 'secret' },
    });
    expect(stdout).toBe(`BMC 127.0.0.1:${b.port}: on done, power on\n`);
    expect(await b.actions()).toEqual(['set power 1']);
    const { stdout: st } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(b.port), '-U', 'admin', '-P', 'secret', 'chassis', 'power', 'status']);
    expect(st).toContain('Chassis Power is on');
  });

  it('prints status as text and JSON', async () => {
    const b = fleet.bmcs[0]!;
    const text = await cli(['bmc', 'status', '--address', `127.0.0.1:${b.port}`, '--password-env', 'PW'], { PW: 'secret' });
    expect(text.code).toBe(0);
    expect(text.out).toContain(`BMC 127.0.0.1:${b.port}: power on`);
    expect(text.out).toContain('faults: none');
    const json = await cli(['bmc', 'status', '--json', '--address', `127.0.0.1:${b.port}`, '--password-env', 'PW'], { PW: 'secret' });
    expect(JSON.parse(json.out)).toMatchObject({ bmc: `127.0.0.1:${b.port}`, power: 'on', chassis: { powerFault: false } });
  });

  it('uses --host from the repository with the site defaults, and sets the boot device', async () => {
    const b = fleet.bmcs[1]!;
    const r = await cli(['bmc', 'bootdev', 'pxe', '--efi', '--host', 'n1', '--repo', repo, '--json'], { LAB_BMC_PW: 'secret' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ bmc: `127.0.0.1:${b.port}`, bootdev: 'pxe', persistent: false, efi: true });
    expect(await b.boot()).toBe('pxe');
    const off = await cli(['bmc', 'soft', '--host', 'n1', '--repo', repo], { LAB_BMC_PW: 'secret' });
    expect(off.code).toBe(0);
    expect(await b.actions()).toEqual(['set boot none', 'set boot pxe']);
  });

  it('fails with a one-line reason that never contains the password', async () => {
    const b = fleet.bmcs[0]!;
    const r = await cli(['bmc', 'off', '--address', `127.0.0.1:${b.port}`, '--user', 'admin', '--password-env', 'PW'], { PW: 'hunter2-wrong' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^gough bmc: BMC "127\.0\.0\.1:\d+" rejected the password for user "admin"\n$/);
    expect(r.err + r.out).not.toContain('hunter2-wrong');
    const missing = await cli(['bmc', 'off', '--address', `127.0.0.1:${b.port}`, '--password-env', 'NOPE'], {});
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('gough bmc: Secret env:NOPE is not set\n');
    const unknown = await cli(['bmc', 'status', '--host', 'zz', '--repo', repo], {});
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('Host "zz" is not defined');
  });

  it('rejects bad usage with exit 2', async () => {
    expect((await cli(['bmc'])).code).toBe(2);
    expect((await cli(['bmc', 'explode', '--address', 'x', '--password-env', 'P'])).code).toBe(2);
    expect((await cli(['bmc', 'bootdev', 'usb', '--address', 'x', '--password-env', 'P'])).code).toBe(2);
    expect((await cli(['bmc', 'on', '--address', 'x'])).code).toBe(2);
    expect((await cli(['bmc', 'on', '--address', 'x', '--password-env', 'P', '--cipher', '7'])).code).toBe(2);
    expect((await cli(['bmc', 'on', '--persistent', '--address', 'x', '--password-env', 'P'])).code).toBe(2);
    const help = await cli(['bmc', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: gough bmc ACTION');
  });
});
