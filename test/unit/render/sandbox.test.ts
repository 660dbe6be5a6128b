import { describe, expect, it } from 'vitest';
import { renderHost } from '../../../src/render/index.js';
import { host, pxeSite, template } from './fixtures.js';

function renderWith(source: string) {
  return renderHost({ host: host('edge-01'), site: pxeSite(), template: template('evil', { cloudConfig: { x: source } }), revision: 'r' });
}

/** Templates arrive in pull requests: none of these may run code, read a file, or reach a prototype. */
const ESCAPES: { name: string; source: string; code: 'template-var' | 'template-syntax' }[] = [
  { name: 'constructor at top level', source: '{{ constructor }}', code: 'template-var' },
  { name: 'constructor of an object', source: '{{ vars.constructor }}', code: 'template-var' },
  { name: 'constructor of a string', source: '{{ host.name.constructor }}', code: 'template-var' },
  { name: 'constructor.constructor call', source: '{{ host.constructor.constructor("return process")() }}', code: 'template-syntax' },
  { name: '__proto__', source: '{{ host.__proto__ }}', code: 'template-var' },
  { name: 'prototype via brackets', source: '{{ host["__proto__"]["toString"] }}', code: 'template-var' },
  { name: 'hasOwnProperty', source: '{{ vars.hasOwnProperty }}', code: 'template-var' },
  { name: 'toString of an array', source: '{{ host.macs.toString }}', code: 'template-var' },
  { name: 'process global', source: '{{ process.env.HOME }}', code: 'template-var' },
  { name: 'globalThis', source: '{{ globalThis }}', code: 'template-var' },
  { name: 'include an absolute path', source: "{% include '/etc/passwd' %}", code: 'template-syntax' },
  { name: 'include a relative path', source: "{% include '../../etc/passwd' %}", code: 'template-syntax' },
  { name: 'render a file', source: "{% render '/etc/hostname' %}", code: 'template-syntax' },
  { name: 'layout a file', source: "{% layout '/etc/passwd' %}x", code: 'template-syntax' },
  { name: 'include inside a liquid tag', source: "{% liquid\ninclude '/etc/passwd'\n%}", code: 'template-syntax' },
  { name: 'date now reads the clock', source: "{{ 'now' | date: '%s' }}", code: 'template-syntax' },
  { name: 'sample is random', source: '{{ host.macs | sample }}', code: 'template-syntax' },
  { name: 'huge range', source: '{% for i in (1..100000000) %}x{% endfor %}', code: 'template-syntax' },
];

describe('template sandbox', () => {
  it.each(ESCAPES)('refuses $name', ({ source, code }) => {
    const r = renderWith(source);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.code)).toEqual([code]);
    expect(r.errors[0]?.field).toEqual(['spec', 'cloudConfig', 'x']);
    const text = JSON.stringify(r.errors);
    expect(text).not.toMatch(/root:x:0:0/);
    expect(text).not.toContain(process.cwd());
  });

  it('assign and capture stay inside one render', () => {
    const t = template('t', { cloudConfig: { a: '{% assign host = "hijacked" %}{{ host }}', b: '{{ host.name }}' } });
    const r = renderHost({ host: host('edge-01'), site: pxeSite(), template: t, revision: 'r' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.rendered.userData).toContain('a: hijacked\nb: edge-01\n');
    const again = renderHost({ host: host('edge-02'), site: pxeSite(), template: t, revision: 'r' });
    if (!again.ok) throw new Error(JSON.stringify(again.errors));
    expect(again.rendered.userData).toContain('b: edge-02\n');
  });

  it('filters that modify arrays do not change the shared site scope', () => {
    const t = template('t', { cloudConfig: { a: '{{ site.pxe.dns | push: "6.6.6.6" | join: "," }}', b: '{{ site.pxe.dns | join: "," }}' } });
    const r = renderHost({ host: host('edge-01'), site: pxeSite(), template: t, revision: 'r' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.rendered.userData).toContain("a: '10.250.0.1,6.6.6.6'\nb: '10.250.0.1'\n");
  });
});
