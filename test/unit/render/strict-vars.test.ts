import { describe, expect, it } from 'vitest';
import { renderHost } from '../../../src/render/index.js';
import { host, pxeSite, template } from './fixtures.js';

const t = template('k8s-worker', {
  vars: { version: { default: '1.30' }, controlPlane: { description: 'no default' }, rack: {} },
  boot: { kernelArgs: 'rack={{ vars.rack }}' },
  cloudConfig: {
    hostname: '{{ host.hostname }}',
    runcmd: [
      'echo {{ vars.version }}',
      'echo {{ host.labels.zone }}',
      'kubeadm join {{ vars.controlPlane }} --name {{ host.name }} {{ vars.controlPlane }}',
      ['sh', '-c', 'echo {{ site.pxe.missing }} {{ host.macs[3] }} {{ host.macs[0] }}'],
    ],
    write_files: [{ path: '/x', content: '{% for d in host.dns %}{{ d }} {{ vars.each }}{% endfor %}{{ vars.rack | upcase }}' }],
  },
});

describe('strict variables', () => {
  it('reports every missing variable of a host with its field and name, in template order', () => {
    const r = renderHost({ host: host('edge-01'), site: pxeSite(), template: t, revision: 'r' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.code, e.field, e.variable])).toEqual([
      ['template-var', ['spec', 'cloudConfig', 'runcmd', 1], 'host.labels.zone'],
      ['template-var', ['spec', 'cloudConfig', 'runcmd', 2], 'vars.controlPlane'],
      ['template-var', ['spec', 'cloudConfig', 'runcmd', 3, 2], 'site.pxe.missing'],
      ['template-var', ['spec', 'cloudConfig', 'runcmd', 3, 2], 'host.macs[3]'],
      ['template-var', ['spec', 'cloudConfig', 'write_files', 0, 'content'], 'vars.each'],
      ['template-var', ['spec', 'cloudConfig', 'write_files', 0, 'content'], 'vars.rack'],
      ['template-var', ['spec', 'boot', 'kernelArgs'], 'vars.rack'],
    ]);
    expect(r.errors[0]?.message).toBe('Template "k8s-worker" uses "host.labels.zone", which host "edge-01" does not provide');
    expect(r.errors.every((e) => e.template === 'k8s-worker')).toBe(true);
  });

  it('a host that provides everything renders', () => {
    const h = host('edge-01', { vars: { controlPlane: '10.0.0.1:6443', rack: 'r1', each: 'x' } }, { zone: 'z1' });
    h.spec.hardware.macs = ['52:54:00:25:00:01', '52:54:00:25:00:02', '52:54:00:25:00:03', '52:54:00:25:00:04'];
    const site = pxeSite();
    site.spec.pxe = { ...(site.spec.pxe as NonNullable<typeof site.spec.pxe>), missing: 'now-set' } as never;
    const r = renderHost({ host: h, site, template: t, revision: 'r' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.rendered.userData).toContain('echo now-set 52:54:00:25:00:04 52:54:00:25:00:01');
    expect(r.rendered.userData).toContain('10.250.0.1 xR1');
    expect(r.rendered.kernelArgs).toBe('rack=r1');
  });

  it('reports a dynamic lookup that misses when the template renders', () => {
    const dyn = template('dyn', { vars: { key: { default: 'nope' } }, cloudConfig: { a: '{{ host.labels[vars.key] }}' } });
    const r = renderHost({ host: host('edge-01'), site: pxeSite(), template: dyn, revision: 'r' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.code).toBe('template-var');
    expect(r.errors[0]?.field).toEqual(['spec', 'cloudConfig', 'a']);
  });

  it('secret references of the site are not visible to templates', () => {
    const leak = template('leak', { cloudConfig: { a: '{{ site.bmc.credentialsRef.file }}', b: '{{ site.agent.tokenRef.env }}' } });
    const r = renderHost({ host: host('edge-01'), site: pxeSite(), template: leak, revision: 'r' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.variable)).toEqual(['site.bmc.credentialsRef', 'site.agent.tokenRef']);
  });

  it('reports syntax errors with the field, for every broken string', () => {
    const bad = template('bad', { cloudConfig: { a: '{{ host.name ', b: ['ok', '{% if x %}no end'] }, userData: undefined as never });
    const r = renderHost({ host: host('edge-01'), site: pxeSite(), template: bad, revision: 'r' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.code, e.field])).toEqual([
      ['template-syntax', ['spec', 'cloudConfig', 'a']],
      ['template-syntax', ['spec', 'cloudConfig', 'b', 1]],
    ]);
    expect(r.errors[0]?.message).toMatch(/^Template "bad" does not parse: /);
  });

  it('unknown filters are errors, not silently skipped', () => {
    const bad = template('bad-filter', { cloudConfig: { a: '{{ host.name | shout }}' } });
    const r = renderHost({ host: host('edge-01'), site: pxeSite(), template: bad, revision: 'r' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]?.message).toContain('undefined filter: shout');
  });

  it('agent: true on a MAAS site names what is missing', () => {
    const a = template('a', { agent: true, cloudConfig: { runcmd: ['true'] } });
    const site = pxeSite();
    delete site.spec.pxe;
    const r = renderHost({ host: host('edge-01'), site, template: a, revision: 'r' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.field, e.variable])).toEqual([[['spec', 'agent'], 'site.pxe.bootServer']]);
  });
});
