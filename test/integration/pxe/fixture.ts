/** Sites, hosts and a harness that runs Gough's PXE services in a server namespace (via the build in dist/). */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DesiredHost, Host, Site, Template } from '../../../src/model/index.js';
import { renderHost } from '../../../src/render/index.js';
import { type NetnsPair, waitFor } from '../../support/netns.js';

export const ROOT = new URL('../../..', import.meta.url).pathname;
export const CHILD = join(ROOT, 'test/integration/pxe/child.mjs');

export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist/drivers/pxe/index.js'))) {
    throw new Error('This test runs the built PXE services: run `npm run build` first (npm test does)');
  }
}

export function site(pxe: Partial<NonNullable<Site['spec']['pxe']>> = {}): Site {
  return {
    apiVersion: 'gough.dev/v1',
    kind: 'Site',
    metadata: { name: 'edge1' },
    spec: {
      provisioner: 'pxe',
      pxe: {
        interface: 'vsrv',
        mode: 'dhcp',
        subnet: '10.250.0.0/24',
        range: { start: '10.250.0.100', end: '10.250.0.199' },
        router: '10.250.0.1',
        dns: ['10.250.0.53'],
        domain: 'edge1.lab',
        bootServer: '10.250.0.1',
        httpPort: 8081,
        leaseSeconds: 600,
        installer: { kernel: 'files/vmlinuz', initrd: ['files/initrd'], args: 'console=ttyS0' },
        ...pxe,
      },
    },
  };
}

export function host(
  n: number,
  o: { address?: string; firmware?: 'bios' | 'uefi'; state?: 'deployed' | 'ready' } = {},
): Host {
  const nn = String(n).padStart(2, '0');
  return {
    apiVersion: 'gough.dev/v1',
    kind: 'Host',
    metadata: { name: `edge1-n${nn}` },
    spec: {
      site: 'edge1',
      hostname: `n${nn}`,
      hardware: { macs: [`52:54:00:25:00:${nn}`], arch: 'amd64', firmware: o.firmware ?? 'bios' },
      state: o.state ?? 'deployed',
      power: 'on',
      os: { distro: 'ubuntu', series: 'noble' },
      ...(o.address === undefined ? {} : { network: { address: o.address } }),
    },
  };
}

export function desired(s: Site, hosts: Host[], template?: Template): DesiredHost[] {
  return hosts.map((h) => {
    const r = renderHost({ host: h, site: s, template, revision: 'test' });
    if (!r.ok) throw new Error(`render failed: ${JSON.stringify(r.errors)}`);
    return { host: h, site: s, revision: 'test', rendered: r.rendered };
  });
}

export type Served = {
  events(): Record<string, unknown>[];
  ports: { http: number; tftp: number; dhcp: number };
  stateDir: string;
};

/** Starts PxeService in the pair's server namespace and waits until it listens. */
export async function servePxe(
  ns: NetnsPair,
  cfg: {
    site: Site;
    hosts: DesiredHost[];
    mode?: 'dhcp' | 'proxy';
    tftpRoot?: string;
    filesDir?: string;
    armDeployed?: boolean;
  },
  inNs: string = ns.srv,
): Promise<Served> {
  requireBuild();
  const dir = mkdtempSync(join(tmpdir(), 'gough-pxe-'));
  const stateDir = join(dir, 'state');
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ stateDir, ...cfg }));
  const child = ns.spawnIn(inNs, process.execPath, [CHILD, file]);
  const ready = await waitFor('PXE services to listen', 10_000, () => {
    if (child.exitCode !== null) throw new Error(`PXE child exited: ${child.output()}`);
    const m = /^READY (.*)$/m.exec(child.output());
    return m?.[1];
  });
  return {
    ports: JSON.parse(ready),
    stateDir,
    events: () =>
      child
        .output()
        .split('\n')
        .filter((l) => l.startsWith('EVENT '))
        .map((l) => JSON.parse(l.slice(6))),
  };
}

/** A TFTP server (`tftp-child.mjs`: the build, 127.0.0.1, an ephemeral port) serving `files` on `workers` threads. */
export type TftpChild = { child: ChildProcess; port: number; workers: number; output(): string; events(): Record<string, unknown>[] };

/** Starts one; the caller kills `child` (it is also pushed onto `children`). */
export async function startTftpChild(files: string, workers: number, children: ChildProcess[]): Promise<TftpChild> {
  const child = spawn(process.execPath, [join(ROOT, 'test/integration/pxe/tftp-child.mjs'), files, String(workers)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d;
  });
  const ready = await waitFor('the TFTP server to listen', 10_000, () => {
    if (child.exitCode !== null) throw new Error(`TFTP child exited: ${out}`);
    return /^READY (.*)$/m.exec(out)?.[1];
  });
  const { port, workers: running } = JSON.parse(ready) as { port: number; workers: number };
  return {
    child,
    port,
    workers: running,
    output: () => out,
    events: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('EVENT '))
        .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>),
  };
}
