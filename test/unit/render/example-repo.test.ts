/**
 * example-repo/ is what readers learn the format from: it must validate clean, render every host, and keep the
 * promises of docs/getting-started.md (schema comments, two sites, ~24 hosts, the policy kinds, the agent template).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '../../../src/model/index.js';
import { hasErrors, loadDirectory } from '../../../src/repo/index.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const REPO = resolve(ROOT, 'example-repo');
const SCHEMA_FILE: Record<string, string> = {
  Site: 'site',
  Host: 'host',
  Template: 'template',
  Policy: 'policy',
  RepoConfig: 'repo-config',
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(n) ? [p] : [];
  });
}

let desired: DesiredState;
beforeAll(async () => {
  const loaded = await loadDirectory(REPO);
  expect(loaded.diagnostics, JSON.stringify(loaded.diagnostics)).toEqual([]);
  expect(hasErrors(loaded.diagnostics)).toBe(false);
  desired = loaded.desired;
});

describe('example-repo', () => {
  it.each(yamlFiles(REPO).map((f) => relative(REPO, f)))('%s opens with the schema comment of its kind', (file) => {
    const text = readFileSync(join(REPO, file), 'utf8');
    const kinds = new Set(parseAllDocuments(text).map((d) => (d.toJS() as { kind: string }).kind));
    expect(kinds.size).toBe(1);
    const [kind] = [...kinds];
    const schema = relative(dirname(join(REPO, file)), join(ROOT, 'schemas', `${SCHEMA_FILE[kind ?? ''] ?? '?'}.schema.json`));
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=${schema}`);
    expect(statSync(resolve(dirname(join(REPO, file)), schema)).isFile()).toBe(true);
  });

  it('has a MAAS site and a PXE site, ~24 hosts across roles, 3+ templates, the policy kinds', () => {
    expect(desired.sites.map((s) => [s.metadata.name, s.spec.provisioner]).sort()).toEqual([
      ['dc1', 'maas'],
      ['edge1', 'pxe'],
    ]);
    expect(desired.hosts).toHaveLength(24);
    const roles = new Map<string, number>();
    for (const h of desired.hosts) roles.set(h.metadata.labels?.['role'] ?? '', (roles.get(h.metadata.labels?.['role'] ?? '') ?? 0) + 1);
    expect(Object.fromEntries(roles)).toEqual({ 'k8s-worker': 12, db: 4, edge: 8 });
    expect(desired.templates.length).toBeGreaterThanOrEqual(3);
    expect(desired.templates.some((t) => t.spec.agent === true)).toBe(true);
    const specs = desired.policies.map((p) => p.spec);
    expect(specs.some((p) => (p.maintenanceWindows?.length ?? 0) > 0)).toBe(true);
    expect(specs.some((p) => p.maxUnavailable !== undefined)).toBe(true);
    expect(specs.some((p) => p.requireApprovals !== undefined)).toBe(true);
    expect(specs.some((p) => p.protect === true)).toBe(true);
    expect(specs.some((p) => p.rollout !== undefined)).toBe(true);
  });

  it('renders every host: cloud-config that YAML 1.1 and 1.2 read alike, meta-data, an iPXE script', () => {
    expect(desired.rendered.size).toBe(24);
    for (const [name, r] of desired.rendered) {
      expect(r.userData.startsWith('#cloud-config\n'), name).toBe(true);
      const doc = parseYaml(r.userData) as Record<string, unknown>;
      expect(parseYaml(r.userData, { version: '1.1' }), name).toEqual(doc);
      expect(doc['hostname'], name).toBeTypeOf('string');
      expect(r.metaData).toBe(`instance-id: ${name}-${r.specHash.slice(0, 12)}\nlocal-hostname: ${doc['hostname']}\n`);
      expect(r.ipxeScript.startsWith('#!ipxe\n'), name).toBe(true);
      expect(r.userData).not.toMatch(/\{\{|\{%/);
    }
  });

  it('edge nodes install from the boot server with their NoCloud seed and enrol the agent and osquery', () => {
    const r = desired.rendered.get('edge-05');
    expect(r?.ipxeScript).toContain(
      'ds=nocloud-net;s=http://10.250.0.1:8081/cloud-init/52:54:00:25:00:05/ console=ttyS0,115200n8 gough.zone=b',
    );
    expect(r?.ipxeScript).toContain('initrd http://10.250.0.1:8081/debian/bookworm/debian-installer/amd64/initrd.gz');
    expect(r?.userData).toContain('--enroll_secret_path=/etc/osquery/enroll.key');
    expect(r?.userData).toContain('http://10.250.0.1:8081/agent/install.sh');
  });

  it('specHashes are distinct per host', () => {
    const hashes = new Set([...desired.rendered.values()].map((r) => r.specHash));
    expect(hashes.size).toBe(24);
  });
});
