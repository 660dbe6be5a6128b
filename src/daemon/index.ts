/**
 * The daemon module's public surface. The HTTP face (`http.ts`: status page, /metrics, webhooks) is its second entry
 * point, imported on its own and lazily by the CLI: a `gough apply` or a daemon without `listen` never loads it.
 */
export { Daemon } from './daemon.js';
export type { DaemonDeps, PassResult } from './daemon.js';
export { loadDaemonConfig, parseListen, resolveDaemonConfig } from './config.js';
export type { ConfigOverrides, DaemonConfig } from './config.js';
export type { DaemonEvent, DaemonSnapshot, DaemonView, HostView, PassInfo, WebhookResult } from './view.js';
