import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { GENERATED_LABEL, generateHosts } from '../../../src/lab/fleet.js';
import type { Host } from '../../../src/model/index.js';

const base: Host = {
  apiVersion: 'gough.dev/v1',
  kind: 'Host',
  metadata: { name: 'r1-n01', labels: { rack: 'r1', role: 'compute' } },
  spec: {
    site: 'dc1',
    hostname: 'r1-n01.dc1.example',
    hardware: {
      macs: ['52:54:00:00:01:01', '52:54:00:00:01:02'],
      bootMac: '52:54:00:00:01:01',
      arch: 'amd64',
      firmware: 'uefi',
      bmc: { driver: 'maas', address: '10.10.0.11' },
    },
    state: 'deployed',
    power: 'on',
    os: { distro: 'ubuntu', series: 'noble' },
    template: 'ubuntu-base',
    vars: { rack: 'r1' },
    network: { address: '10.20.0.11', gateway: '10.20.0.1' },
  },
};

describe('generateHosts', () => {
  it('makes N hosts with unique names, MACs and addresses, modelled on the base host', () => {
    const files = generateHosts(base, 300, {
      taken: { names: ['lab-0002'], macs: ['52:54:4c:00:00:00'], addresses: ['10.20.200.1'] },
    });
    expect(files).toHaveLength(300);
    const docs = files.map((f) => parse(f.text) as Host);
    const names = docs.map((d) => d.metadata.name);
    expect(new Set(names).size).toBe(300);
    expect(names).not.toContain('lab-0002');
    expect(names[0]).toBe('lab-0001');
    const macs = docs.flatMap((d) => d.spec.hardware.macs);
    expect(new Set(macs).size).toBe(600);
    expect(macs).not.toContain('52:54:4c:00:00:00');
    for (const m of macs) expect(m).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const addrs = docs.map((d) => d.spec.network?.address);
    expect(new Set(addrs).size).toBe(300);
    expect(addrs).not.toContain('10.20.200.1');
    for (const a of addrs) expect(a).toMatch(/^10\.20\.2\d\d\.\d+$/);
    const bmcs = docs.map((d) => d.spec.hardware.bmc?.address);
    expect(new Set([...bmcs, ...addrs]).size).toBe(600);
    for (const d of docs) {
      expect(d.spec.hardware.bootMac).toBe(d.spec.hardware.macs[0]);
      expect(d.spec.hostname).toBeUndefined();
      expect(d.spec.site).toBe('dc1');
      expect(d.spec.template).toBe('ubuntu-base');
      expect(d.metadata.labels).toEqual({ rack: 'r1', role: 'compute', [GENERATED_LABEL]: 'true' });
    }
    expect(files[0]?.path).toBe('hosts/lab-generated/lab-0001.yaml');
    // the base host is untouched
    expect(base.spec.hardware.macs).toEqual(['52:54:00:00:01:01', '52:54:00:00:01:02']);
  });

  it('is deterministic and makes none for zero', () => {
    expect(generateHosts(base, 5)).toEqual(generateHosts(base, 5));
    expect(generateHosts(base, 0)).toEqual([]);
  });
});
