import { describe, expect, it } from 'vitest';
import type { Host } from '../../../src/model/index.js';
import { canonicalJson, renderHost, SPEC_HASH_LENGTH, specHashOf } from '../../../src/render/index.js';
import { host, pxeSite, template } from './fixtures.js';

const t = template('k8s', {
  vars: { version: { default: '1.30' }, unused: { default: 'x' } },
  boot: { kernelArgs: 'console=ttyS0' },
  cloudConfig: { runcmd: ['install {{ vars.version }}'], hostname: '{{ host.hostname }}' },
});

function hashOf(h: Host, site = pxeSite(), tpl = t): string {
  const r = renderHost({ host: h, site, template: tpl, revision: 'r' });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.rendered.specHash;
}

const base = (): Host => host('edge-01', { vars: { version: '1.30' } }, { role: 'edge' });

describe('specHash', () => {
  it('is 16 lower-case hex characters and stable across runs (golden)', () => {
    const h = hashOf(base());
    expect(h).toMatch(new RegExp(`^[0-9a-f]{${SPEC_HASH_LENGTH}}$`));
    expect(h).toBe('c64dbfda1b44483b');
  });

  it('hashes a canonical JSON: key order does not matter', () => {
    const parts = {
      os: { distro: 'debian', series: 'bookworm' },
      hostname: 'h',
      firmware: 'bios',
      arch: 'amd64',
      userData: 'u',
      kernelArgs: 'k',
      ipxeScript: 'i',
    };
    const reordered = Object.fromEntries(Object.entries(parts).reverse()) as typeof parts;
    reordered.os = { series: 'bookworm', distro: 'debian' };
    expect(specHashOf(reordered)).toBe(specHashOf(parts));
    expect(canonicalJson({ b: [1, { d: 2, c: 'x' }], a: null })).toBe('{"a":null,"b":[1,{"c":"x","d":2}]}');
  });

  it('the fast canonical form equals canonicalJson of the parts', async () => {
    const { createHash } = await import('node:crypto');
    const parts = { os: { distro: 'd"', series: 's\n' }, hostname: 'h', firmware: 'uefi', arch: 'arm64', userData: 'ü\u2028', kernelArgs: '', ipxeScript: '#!ipxe' };
    const expected = createHash('sha256').update(canonicalJson({ v: 1, ...parts })).digest('hex').slice(0, SPEC_HASH_LENGTH);
    expect(specHashOf(parts)).toBe(expected);
  });

  const SAME: [string, (h: Host) => void][] = [
    ['a label changes', (h) => (h.metadata.labels = { role: 'other', rack: 'r9' })],
    ['power changes', (h) => (h.spec.power = 'off')],
    ['state changes', (h) => (h.spec.state = 'ready')],
    ['the BMC changes', (h) => (h.spec.hardware.bmc = { driver: 'ipmi', address: '127.0.0.1', port: 9601 })],
    ['an annotation is added', (h) => (h.metadata.annotations = { note: 'x' })],
    ['a var the template does not read changes', (h) => (h.spec.vars = { version: '1.30', other: 'y' })],
    ['a var is set to its default explicitly', (h) => (h.spec.vars = {})],
  ];
  it.each(SAME)('does not change when %s', (_, change) => {
    const h = base();
    change(h);
    expect(hashOf(h)).toBe(hashOf(base()));
  });

  const DIFFERENT: [string, (h: Host) => void][] = [
    ['a var the template reads changes', (h) => (h.spec.vars = { version: '1.31' })],
    ['the OS series changes', (h) => (h.spec.os = { distro: 'debian', series: 'trixie' })],
    ['the OS distro changes', (h) => (h.spec.os = { distro: 'ubuntu', series: 'bookworm' })],
    ['the firmware changes', (h) => (h.spec.hardware.firmware = 'uefi')],
    ['the architecture changes', (h) => (h.spec.hardware.arch = 'arm64')],
    ['the boot MAC changes', (h) => (h.spec.hardware.macs = ['52:54:00:25:00:99'])],
    ['the hostname changes', (h) => (h.spec.hostname = 'edge-01.example')],
  ];
  it.each(DIFFERENT)('changes when %s', (_, change) => {
    const h = base();
    change(h);
    expect(hashOf(h)).not.toBe(hashOf(base()));
  });

  it('changes when the template, kernel args or installer change', () => {
    const h = base();
    const ref = hashOf(h);
    expect(hashOf(h, pxeSite(), template('k8s', { ...t.spec, boot: { kernelArgs: 'console=ttyS1' } }))).not.toBe(ref);
    expect(hashOf(h, pxeSite(), template('k8s', { ...t.spec, cloudConfig: { runcmd: ['install {{ vars.version }} '] } }))).not.toBe(ref);
    const site = pxeSite();
    const pxe = site.spec.pxe as NonNullable<typeof site.spec.pxe>;
    site.spec.pxe = { ...pxe, installer: { kernel: 'debian/trixie/linux', initrd: ['debian/trixie/initrd.gz'] } };
    expect(hashOf(h, site)).not.toBe(ref);
  });

  it('does not change when only site settings a host does not run change', () => {
    const site = pxeSite();
    const pxe = site.spec.pxe as NonNullable<typeof site.spec.pxe>;
    site.spec.pxe = { ...pxe, leaseSeconds: 7200, range: { start: '10.250.0.150', end: '10.250.0.160' } };
    site.spec.bmc = { driver: 'ipmi', username: 'root' };
    expect(hashOf(base(), site)).toBe(hashOf(base()));
  });
});
