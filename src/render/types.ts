import type { Host, RenderedHost, Site, Template } from '../model/index.js';

export type RenderInput = {
  host: Host;
  site: Site;
  /** The host's template, or undefined for a host without one (it gets an empty cloud-config). */
  template: Template | undefined;
  /** The Git revision being rendered. Deliberately not visible to templates nor in the output: a new commit that
   * does not change what a host runs must not change its specHash. */
  revision: string;
};

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
