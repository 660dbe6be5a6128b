/**
 * The daemon configuration: one YAML file (schemas/daemon-config.schema.json), every value overridable by a flag.
 * Secrets only by reference (`{env: NAME}` / `{file: PATH, key: K}`), resolved by the caller.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { GoughError, type SecretRef } from '../model/index.js';

export type DaemonConfig = {
  repo: { url?: string; path?: string; branch: string; credentials?: { username?: string; tokenRef: SecretRef } };
  sites: string[];
  stateDir: string;
  triggers: { pollSeconds: number; cron?: string; watch: boolean; webhook?: { secretRef: SecretRef } };
  limits: {
    maxProvisioningPerSite: number;
    maxAttempts: number;
    actionTimeoutSeconds: number;
    ratePerSecond: number;
    backoffSeconds: number;
    shutdownGraceSeconds: number;
  };
  status: { enabled: boolean; branch: string };
  /** `readyMaxAgeSeconds`: /readyz fails when the last successful pass is older; 0 = no age limit. */
  http: { listen: string; readyMaxAgeSeconds: number };
  providers: { pollIntervalMs?: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
};

/** Flag overrides (each optional): the command maps `--flag` values onto these. */
export type ConfigOverrides = {
  repoUrl?: string;
  repoPath?: string;
  branch?: string;
  tokenEnv?: string;
  sites?: string[];
  stateDir?: string;
  pollSeconds?: number;
  cron?: string;
  watch?: boolean;
  webhookSecretEnv?: string;
  maxProvisioning?: number;
  maxAttempts?: number;
  actionTimeoutSeconds?: number;
  ratePerSecond?: number;
  backoffSeconds?: number;
  shutdownGraceSeconds?: number;
  statusEnabled?: boolean;
  statusBranch?: string;
  listen?: string;
  readyMaxAgeSeconds?: number;
  providerPollMs?: number;
  logLevel?: DaemonConfig['log']['level'];
};

const SCHEMA_URL = new URL('../../schemas/daemon-config.schema.json', import.meta.url);
let validate: ReturnType<Ajv2020['compile']> | undefined;

function validator(): ReturnType<Ajv2020['compile']> {
  if (!validate) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object);
  }
  return validate;
}

type Raw = {
  repo?: { url?: string; path?: string; branch?: string; credentials?: { username?: string; tokenRef: SecretRef } };
  sites?: string[];
  stateDir?: string;
  triggers?: Partial<DaemonConfig['triggers']>;
  limits?: Partial<DaemonConfig['limits']>;
  status?: Partial<DaemonConfig['status']>;
  http?: Partial<DaemonConfig['http']>;
  providers?: DaemonConfig['providers'];
  log?: Partial<DaemonConfig['log']>;
};

function check(raw: unknown, where: string): void {
  const v = validator();
  if (!v(raw)) {
    const msgs = (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new GoughError('config-error', `Daemon configuration ${where} is invalid: ${[...new Set(msgs)].join('; ')}`);
  }
}

/**
 * Builds the effective configuration from a YAML text (or none) and flag overrides, then validates it against
 * the schema. Relative paths are taken from `baseDir` (the config file's folder or the working directory).
 */
export function resolveDaemonConfig(
  text: string | undefined,
  overrides: ConfigOverrides,
  opts: { baseDir: string; where?: string },
): DaemonConfig {
  let raw: Raw = {};
  if (text !== undefined) {
    try {
      raw = (parse(text) as Raw | null) ?? {};
    } catch (e) {
      throw new GoughError('config-error', `Daemon configuration ${opts.where ?? ''} is not YAML: ${(e as Error).message}`);
    }
  }
  const o = overrides;
  const repo = { ...raw.repo };
  if (o.repoUrl !== undefined) {
    repo.url = o.repoUrl;
    delete repo.path;
  }
  if (o.repoPath !== undefined) {
    repo.path = o.repoPath;
    delete repo.url;
  }
  if (o.branch !== undefined) repo.branch = o.branch;
  if (o.tokenEnv !== undefined) repo.credentials = { ...repo.credentials, tokenRef: { env: o.tokenEnv } };
  const triggers = { ...raw.triggers };
  if (o.pollSeconds !== undefined) triggers.pollSeconds = o.pollSeconds;
  if (o.cron !== undefined) triggers.cron = o.cron;
  if (o.watch !== undefined) triggers.watch = o.watch;
  if (o.webhookSecretEnv !== undefined) triggers.webhook = { secretRef: { env: o.webhookSecretEnv } };
  const limits = { ...raw.limits };
  if (o.maxProvisioning !== undefined) limits.maxProvisioningPerSite = o.maxProvisioning;
  if (o.maxAttempts !== undefined) limits.maxAttempts = o.maxAttempts;
  if (o.actionTimeoutSeconds !== undefined) limits.actionTimeoutSeconds = o.actionTimeoutSeconds;
  if (o.ratePerSecond !== undefined) limits.ratePerSecond = o.ratePerSecond;
  if (o.backoffSeconds !== undefined) limits.backoffSeconds = o.backoffSeconds;
  if (o.shutdownGraceSeconds !== undefined) limits.shutdownGraceSeconds = o.shutdownGraceSeconds;
  const status = { ...raw.status };
  if (o.statusEnabled !== undefined) status.enabled = o.statusEnabled;
  if (o.statusBranch !== undefined) status.branch = o.statusBranch;
  const http = { ...raw.http };
  if (o.listen !== undefined) http.listen = o.listen;
  if (o.readyMaxAgeSeconds !== undefined) http.readyMaxAgeSeconds = o.readyMaxAgeSeconds;
  const providers = { ...raw.providers };
  if (o.providerPollMs !== undefined) providers.pollIntervalMs = o.providerPollMs;
  const log = { ...raw.log };
  if (o.logLevel !== undefined) log.level = o.logLevel;
  const merged: Raw = { ...raw, repo, triggers, limits, status, http, providers, log };
  if (o.sites !== undefined) merged.sites = o.sites;
  if (o.stateDir !== undefined) merged.stateDir = o.stateDir;
  check(merged, opts.where ?? '');

  const abs = (p: string) => (isAbsolute(p) ? p : resolve(opts.baseDir, p));
  const cfg: DaemonConfig = {
    repo: { branch: repo.branch ?? 'main' },
    sites: merged.sites ?? [],
    stateDir: abs(merged.stateDir ?? '/var/lib/gough'),
    triggers: { pollSeconds: triggers.pollSeconds ?? 60, watch: triggers.watch ?? true },
    limits: {
      maxProvisioningPerSite: limits.maxProvisioningPerSite ?? 20,
      maxAttempts: limits.maxAttempts ?? 3,
      actionTimeoutSeconds: limits.actionTimeoutSeconds ?? 1800,
      ratePerSecond: limits.ratePerSecond ?? 20,
      backoffSeconds: limits.backoffSeconds ?? 2,
      shutdownGraceSeconds: limits.shutdownGraceSeconds ?? 30,
    },
    status: { enabled: status.enabled ?? true, branch: status.branch ?? 'gough/status' },
    http: { listen: http.listen ?? '127.0.0.1:8080', readyMaxAgeSeconds: http.readyMaxAgeSeconds ?? defaultReadyAge(triggers) },
    providers,
    log: { level: log.level ?? 'info' },
  };
  if (repo.url !== undefined) cfg.repo.url = repo.url;
  if (repo.path !== undefined) cfg.repo.path = abs(repo.path);
  if (repo.credentials) cfg.repo.credentials = repo.credentials;
  if (triggers.cron !== undefined) cfg.triggers.cron = triggers.cron;
  if (triggers.webhook) cfg.triggers.webhook = triggers.webhook;
  return cfg;
}

/**
 * How old the last successful pass may be for /readyz: three poll intervals, at least 10 minutes. Without a poll
 * passes come only from commits, webhooks or cron, so an idle daemon proves nothing by its age: no limit.
 */
function defaultReadyAge(t: Partial<DaemonConfig['triggers']>): number {
  const poll = t.pollSeconds ?? 60;
  return poll > 0 ? Math.max(600, 3 * poll) : 0;
}

/** Reads the config file (when given) and applies overrides. */
export function loadDaemonConfig(file: string | undefined, overrides: ConfigOverrides, cwd: string): DaemonConfig {
  if (file === undefined) return resolveDaemonConfig(undefined, overrides, { baseDir: cwd, where: '(flags)' });
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GoughError('config-error', `Cannot read the daemon configuration "${file}": ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return resolveDaemonConfig(text, overrides, { baseDir: resolve(path, '..'), where: `"${file}"` });
}

/** `host:port` → parts; port 0 picks a free one. */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  if (listen === '') return undefined;
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) throw new GoughError('config-error', `Cannot listen on "${listen}": expected host:port`);
  return { host: m[1] === '' ? '127.0.0.1' : m[1]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}
