import type { Host, Site, Template } from '../../../src/model/index.js';

export function pxeSite(patch: Partial<Site['spec']> = {}): Site {
  return {
    apiVersion: 'gough.dev/v1',
    kind: 'Site',
    metadata: { name: 'edge1' },
    spec: {
      provisioner: 'pxe',
      pxe: {
        interface: 'gough0',
        mode: 'dhcp',
        subnet: '10.250.0.0/24',
        range: { start: '10.250.0.100', end: '10.250.0.199' },
        router: '10.250.0.1',
        dns: ['10.250.0.1'],
        bootServer: '10.250.0.1',
        httpPort: 8081,
        installer: {
          kernel: 'debian/bookworm/linux',
          initrd: ['debian/bookworm/initrd.gz'],
          args: 'auto=true priority=critical',
        },
      },
      bmc: { driver: 'ipmi', username: 'admin', credentialsRef: { file: '/etc/gough/bmc.env', key: 'IPMI_PASSWORD' } },
      agent: { enabled: true, reportIntervalSeconds: 30, tokenRef: { env: 'GOUGH_AGENT_TOKEN' } },
      ...patch,
    },
  };
}

export function maasSite(): Site {
  return {
    apiVersion: 'gough.dev/v1',
    kind: 'Site',
    metadata: { name: 'dc1' },
    spec: {
      provisioner: 'maas',
      timezone: 'Europe/Berlin',
      maas: { url: 'http://127.0.0.1:5240/MAAS', apiKeyRef: { env: 'GOUGH_MAAS_API_KEY' } },
      bmc: { driver: 'maas' },
    },
  };
}

export function host(name: string, patch: Partial<Host['spec']> = {}, labels: Record<string, string> = {}): Host {
  return {
    apiVersion: 'gough.dev/v1',
    kind: 'Host',
    metadata: { name, labels },
    spec: {
      site: 'edge1',
      hardware: { macs: ['52:54:00:25:00:01'], arch: 'amd64', firmware: 'bios' },
      state: 'deployed',
      power: 'on',
      os: { distro: 'debian', series: 'bookworm' },
      network: { address: '10.250.0.11/24' },
      ...patch,
    },
  };
}

export function template(name: string, spec: Template['spec']): Template {
  return { apiVersion: 'gough.dev/v1', kind: 'Template', metadata: { name }, spec };
}
