/**
 * Rendering: per-host templates (cloud-init user-data, NoCloud meta-data, iPXE script, kernel args) with a
 * sandboxed, strict Liquid engine, and the specHash of what a host runs. Pure: no I/O, no clock, no env.
 * See docs/templates.md.
 */
export type { BootScriptKind, InstallerBoot } from './boot.js';
export { PXE_HTTP_PORT_DEFAULT, pxeHttpBase, renderBootScript, seedUrlOf } from './boot.js';
export { LIMITS, REMOVED_FILTERS, REMOVED_TAGS } from './engine.js';
export {
  AGENT_CONFIG_PATH,
  AGENT_REPORT_INTERVAL_DEFAULT,
  AGENT_TOKEN_PATH,
  renderHost,
} from './render-host.js';
export { DEFAULT_OS } from './scope.js';
export type { SpecHashParts } from './spec-hash.js';
export { canonicalJson, SPEC_HASH_LENGTH, specHashOf } from './spec-hash.js';
export type { RenderError, RenderInput, RenderResult } from './types.js';
export { emitYaml } from './yaml-emit.js';
