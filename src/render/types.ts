import type { Host, RenderedHost, Site, Template } from '../model/index.js';

export type RenderInput = { host: Host; site: Site; template: Template | undefined; revision: string };

export type RenderError = {
  code: 'template-var' | 'template-syntax';
  message: string;
  /** Template name. */
  template: string;
  /** Path inside the Template resource where the problem is, e.g. `['spec', 'cloudConfig', 'runcmd', 2]`. */
  field: (string | number)[];
  /** The variable a host does not provide, e.g. `vars.rack`. */
  variable?: string;
};

export type RenderResult = { ok: true; rendered: RenderedHost } | { ok: false; errors: RenderError[] };
