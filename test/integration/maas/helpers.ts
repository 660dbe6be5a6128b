import type { DesiredHost, Host, Site } from '../../../src/model/index.js';

export function site(url: string, over: Partial<Site['spec']> = {}): Site {
  return {
    apiVersion: 'gough.dev/v1',
    kind: 'Site',
    metadata: { name: 'dc1' },
    spec: { provisioner: 'maas', maas: { url, apiKeyRef: { env: 'GOUGH_MAAS_API_KEY' } }, ...over },
  };
}

export function host(name: string, i: number, over: Partial<Host['spec']> = {}): Host {
  const mac = (n: number) => `52:54:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}:${n.toString(16).padStart(2, '0')}`;
  return {
    apiVersion: 'gough.dev/v1',
    kind: 'Host',
    metadata: { name },
    spec: {
      site: 'dc1',
      hardware: { macs: [mac(1), mac(2)], bootMac: mac(1), arch: 'amd64', firmware: 'uefi', bmc: { driver: 'ipmi', address: `10.0.${i >> 8}.${i & 0xff}` } },
      state: 'deployed',
      power: 'on',
      os: { distro: 'ubuntu', series: 'jammy' },
      ...over,
    },
  };
}

export function desired(h: Host, s: Site, specHash = 'spec-aaaa1111', revision = 'rev-1'): DesiredHost {
  return {
    host: h,
    site: s,
    revision,
    rendered: {
      host: h.metadata.name,
      os: { distro: 'ubuntu', series: 'jammy' },
      userData: `#cloud-config\nhostname: ${h.metadata.name}\n`,
      metaData: `instance-id: ${h.metadata.name}\n`,
      ipxeScript: '#!ipxe\n',
      kernelArgs: '',
      specHash,
    },
  };
}
