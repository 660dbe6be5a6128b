export { Daemon } from './daemon.js';
export type { DaemonDeps, PassResult } from './daemon.js';
export { loadDaemonConfig, parseListen, resolveDaemonConfig } from './config.js';
export type { ConfigOverrides, DaemonConfig } from './config.js';
export type { DaemonEvent, DaemonSnapshot, DaemonView, HostView, PassInfo, WebhookResult } from './view.js';
