/**
 * Synthetic config repositories for benchmarks: N hosts (one per file) across a few sites, templates and
 * policies, with realistic fields (two MACs, BMC, static address, labels, template vars). Every generated repo
 * validates clean, so the figures measure the happy path a real fleet takes. Reused by the plan and git benches.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type SyntheticRepo = { dir: string; hosts: number; files: number; hostNames: string[] };

export type SyntheticOptions = {
  hosts: number;
  /** Directory to write into; a new temp dir when absent. */
  dir?: string;
  sites?: number;
  /** Files written at once. */
  concurrency?: number;
};

const ROLES = ['k8s-worker', 'database', 'edge'] as const;

/** The name of synthetic host `i` (0-based). */
export function syntheticHostName(i: number): string {
  return `h${String(i).padStart(6, '0')}`;
}

function hex2(n: number): string {
  return (n & 255).toString(16).padStart(2, '0');
}

export function syntheticSite(s: number): string {
  return `apiVersion: gough.dev/v1
kind: Site
metadata:
  name: site-${s}
  description: Synthetic site ${s}
spec:
  provisioner: pxe
  timezone: UTC
  pxe:
    interface: eno2
    mode: dhcp
    subnet: 10.${s}.0.0/16
    router: 10.${s}.0.1
    dns: [10.${s}.0.1]
    bootServer: 10.${s}.0.2
  bmc:
    driver: ipmi
    username: gough
    credentialsRef: { file: /etc/gough/bmc.yaml, key: password }
  agent:
    enabled: true
    tokenRef: { env: GOUGH_AGENT_TOKEN }
`;
}

export function syntheticTemplate(role: string): string {
  return `apiVersion: gough.dev/v1
kind: Template
metadata:
  name: ${role}
spec:
  vars:
    rack:
      description: Rack the host sits in
    ntp:
      description: NTP server
      default: ntp.example.net
  boot:
    kernelArgs: console=ttyS0,115200
  cloudConfig:
    hostname: "{{ host.hostname }}"
    timezone: UTC
    ntp:
      servers: ["{{ vars.ntp }}"]
    packages: [curl, chrony]
    write_files:
      - path: /etc/gough/role
        content: "${role} rack={{ vars.rack }} site={{ site.name }}"
    runcmd:
      - [sh, -c, "echo {{ host.name }} > /etc/motd"]
`;
}

export function syntheticPolicy(role: string): string {
  return `apiVersion: gough.dev/v1
kind: Policy
metadata:
  name: ${role}-rollout
spec:
  selector:
    matchLabels:
      role: ${role}
  maxUnavailable: 10%
  maintenanceWindows:
    - schedule: "0 2 * * *"
      duration: 4h
  rollout:
    batchSize: 10
`;
}

export function syntheticHost(i: number, sites: number): string {
  const s = i % sites;
  const role = ROLES[i % ROLES.length]!;
  const n = Math.floor(i / sites) + 10;
  const mac = (nic: number): string => `02:${hex2(nic)}:${hex2(s)}:${hex2(n >> 16)}:${hex2(n >> 8)}:${hex2(n)}`;
  return `apiVersion: gough.dev/v1
kind: Host
metadata:
  name: ${syntheticHostName(i)}
  labels:
    role: ${role}
    rack: r${Math.floor(n / 40)}
spec:
  site: site-${s}
  hardware:
    macs: ["${mac(0)}", "${mac(1)}"]
    bootMac: "${mac(0)}"
    arch: amd64
    firmware: uefi
    bmc:
      driver: ipmi
      address: 172.${16 + s}.${(n >> 8) & 255}.${n & 255}
  state: deployed
  power: "on"
  os: { distro: ubuntu, series: noble }
  template: ${role}
  vars:
    rack: r${Math.floor(n / 40)}
  network:
    address: 10.${s}.${(n >> 8) & 255}.${n & 255}/16
    gateway: 10.${s}.0.1
`;
}

/** Writes a synthetic repo of `hosts` hosts; host files go to hosts/<site>/<bucket>/<name>.yaml. */
export async function generateSyntheticRepo(opts: SyntheticOptions): Promise<SyntheticRepo> {
  const sites = opts.sites ?? 3;
  if (opts.hosts / sites > 60_000)
    throw new Error(`Too many hosts per site for the synthetic address plan: ${opts.hosts}`);
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'gough-synthetic-')));
  const files: [string, string][] = [];
  for (let s = 0; s < sites; s++) files.push([`sites/site-${s}.yaml`, syntheticSite(s)]);
  for (const role of ROLES) {
    files.push([`templates/${role}.yaml`, syntheticTemplate(role)]);
    files.push([`policies/${role}.yaml`, syntheticPolicy(role)]);
  }
  files.push([
    'gough.yaml',
    'apiVersion: gough.dev/v1\nkind: RepoConfig\nmetadata:\n  name: settings\nspec:\n  statusBranch: gough/status\n',
  ]);
  const hostNames: string[] = [];
  const dirs = new Set<string>(['sites', 'templates', 'policies']);
  for (let i = 0; i < opts.hosts; i++) {
    const name = syntheticHostName(i);
    hostNames.push(name);
    const sub = `hosts/site-${i % sites}/${String(Math.floor(i / 1000)).padStart(3, '0')}`;
    dirs.add(sub);
    files.push([`${sub}/${name}.yaml`, syntheticHost(i, sites)]);
  }
  for (const d of dirs) await mkdir(join(dir, d), { recursive: true });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const [p, text] = files[next++]!;
      await writeFile(join(dir, p), text);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 64 }, worker));
  return { dir, hosts: opts.hosts, files: files.length, hostNames };
}
