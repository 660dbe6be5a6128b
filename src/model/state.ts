/**
 * Desired state (from the repo), observed state (from drivers), plans, and the ports drivers implement.
 */
import type { SourcePos } from './errors.js';
import type { Bmc, Host, Policy, RepoConfigSpec, Site, Template } from './resources.js';

// ---------------------------------------------------------------------------------------------
// Diagnostics and desired state

export type Severity = 'error' | 'warning';

/** One finding of `gough validate`: `file:line:col: severity[code]: message`. */
export type Diagnostic = SourcePos & { severity: Severity; code: string; message: string };

/** What a host should run, rendered by `src/render` from its template. */
export type RenderedHost = {
  host: string;
  os: { distro: string; series: string };
  /** cloud-init user-data (starts with `#cloud-config` when the template has cloudConfig). */
  userData: string;
  /** NoCloud meta-data (instance-id, local-hostname). */
  metaData: string;
  /** iPXE script that installs the host. */
  ipxeScript: string;
  kernelArgs: string;
  /** Stable hash of everything that changes what the host runs. */
  specHash: string;
};

/** A host as the loader resolved it: the resource, its site, and its rendering. */
export type DesiredHost = {
  host: Host;
  site: Site;
  revision: string;
  rendered: RenderedHost;
};

export type DesiredState = {
  /** Git commit (or `worktree` for a directory). */
  revision: string;
  sites: Site[];
  hosts: Host[];
  templates: Template[];
  policies: Policy[];
  config: RepoConfigSpec;
  /** Rendered hosts by host name (hosts whose rendering failed are absent and have a diagnostic). */
  rendered: ReadonlyMap<string, RenderedHost>;
  /** Where each resource was defined, keyed `Kind/name`. */
  sources: ReadonlyMap<string, SourcePos>;
};

// ---------------------------------------------------------------------------------------------
// Observed state

export const LIFECYCLES = [
  'unknown',
  'new',
  'commissioning',
  'ready',
  'allocated',
  'deploying',
  'deployed',
  'releasing',
  'failed',
  'broken',
] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];

/** `error` and `unknown` are never treated as `off`. */
export type PowerState = 'on' | 'off' | 'unknown' | 'error';

export type AgentReport = {
  lastSeen: string;
  specHash?: string;
  healthy: boolean;
  facts?: Record<string, unknown>;
};

export type ObservedHost = {
  /** Host name in the repo; for an orphan, the provider's hostname. */
  name: string;
  site?: string;
  lifecycle: Lifecycle;
  power: PowerState;
  os?: { distro: string; series: string };
  deployedSpecHash?: string;
  deployedRevision?: string;
  agent?: AgentReport;
  provider: { kind: string; id: string; status: string; message?: string };
  macs?: string[];
  errors: string[];
};

export type ObservedState = {
  observedAt: string;
  hosts: ObservedHost[];
};

// ---------------------------------------------------------------------------------------------
// Plans

export const ACTION_KINDS = [
  'register',
  'commission',
  'deploy',
  'redeploy',
  'release',
  'power-on',
  'power-off',
  'power-cycle',
  'set-boot',
  'pxe-update',
] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export type Action = {
  /** Deterministic hash of (host, kind, specHash, target power): the idempotency key. */
  id: string;
  host: string;
  site: string;
  kind: ActionKind;
  reason: string;
  disruptive: boolean;
  specHash?: string;
  power?: 'on' | 'off';
};

export type Wait = { host: string; reason: string; actionId?: string; site?: string };

export const BLOCK_KINDS = ['window', 'max-unavailable', 'approval', 'protected', 'rollout', 'failed'] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];
export type BlockReason = { kind: BlockKind; message: string; policy?: string; until?: string };
export type Blocked = { action: Action; reasons: BlockReason[]; until?: string };

export type Orphan = { name: string; site?: string; lifecycle: Lifecycle; providerId: string };

export type PlanSummary = {
  hosts: number;
  actions: number;
  disruptive: number;
  waits: number;
  blocked: number;
  orphans: number;
  byKind: Partial<Record<ActionKind, number>>;
  converged: boolean;
};

export type Plan = {
  revision: string;
  actions: Action[];
  waits: Wait[];
  blocked: Blocked[];
  orphans: Orphan[];
  summary: PlanSummary;
  /**
   * A focused plan's actions it cannot decide (see `PlanContext.hosts`): disruptive actions under a policy that
   * counts hosts (`maxUnavailable`, `rollout`). Neither started nor reported: the full plan decides them.
   */
  deferred?: Action[];
};

export type Approval = { user: string; teams?: string[] };

/** Work the journal knows about that is not finished. */
export type InFlight = { actionId: string; host: string; kind: ActionKind; state: 'pending' | 'running'; since: string };

/** A terminal failure recorded in the journal; the planner blocks the same action until re-armed. */
export type FailedAction = { actionId: string; host: string; kind: ActionKind; error: string; attempts: number };

export type PlanContext = {
  /** ISO 8601 instant; the planner never reads a clock. */
  now: string;
  approvals: Approval[];
  inFlight: InFlight[];
  failed?: FailedAction[];
  /** Plan only this site. */
  site?: string;
  /**
   * Plan only these hosts of the desired state: a focused plan, what a daemon runs first on the hosts a commit
   * changed, so their actions start without waiting for the whole fleet's plan. The observation need cover only
   * them; orphans are not reported; a disruptive action under a policy that counts hosts (`maxUnavailable`,
   * `rollout`: counts need every host) is `deferred`, never started, and the full plan that follows decides it.
   */
  hosts?: readonly Host[];
};

// ---------------------------------------------------------------------------------------------
// Ports

export type CallOptions = { signal?: AbortSignal };

/** What `perform` reports after the action's effect was verified. */
export type Outcome = { message: string; observed?: ObservedHost };

/**
 * A provisioner (MAAS, built-in PXE, the lab) observes machines and performs actions on them.
 * `observe` never changes hardware and makes a bounded number of calls (one list per pass, not one per host);
 * it returns one ObservedHost per desired host it knows plus orphans (machines no host matches).
 * `perform` acts, then verifies by observation within a deadline; it resolves with an Outcome when the effect is
 * seen and rejects with a GoughError whose `retry` says whether the executor may try again. Performing an action
 * whose effect already holds resolves without acting (idempotent).
 */
export interface Provisioner {
  readonly kind: string;
  observe(hosts: readonly DesiredHost[], opts?: ObserveOptions): Promise<ObservedHost[]>;
  perform(action: Action, target: DesiredHost, opts?: PerformOptions): Promise<Outcome>;
}

/**
 * `only`: the caller wants these hosts and nothing else (a daemon's focused pass on the hosts a commit changed): no
 * orphans are needed, so a provider may ask its backend for just these machines.
 */
export type ObserveOptions = CallOptions & { only?: boolean };

/** `deadlineMs`: when to give up verifying; `pass`: the daemon pass that dispatched the action, for log lines. */
export type PerformOptions = CallOptions & { deadlineMs?: number; pass?: string };

export type PowerOp = 'on' | 'off' | 'cycle' | 'reset' | 'soft';
export type BootOpts = { persistent?: boolean; efi?: boolean };

/**
 * Direct BMC control. `set('on')` resolves without acting when the BMC already reports on; never
 * powers on a machine whose status is not confirmed off. Credentials come from `bmc.credentialsRef` only.
 */
export interface PowerDriver {
  status(bmc: Bmc, opts?: CallOptions): Promise<PowerState>;
  set(bmc: Bmc, op: PowerOp, opts?: CallOptions): Promise<void>;
  bootDevice(bmc: Bmc, dev: 'pxe' | 'disk', boot: BootOpts, opts?: CallOptions): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Status

export type ConditionType = 'Ready' | 'Provisioning' | 'Degraded' | 'Blocked';
export type Condition = {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
};

/** One host's status document, written to `status/<site>/<host>.yaml`. Never contains secrets. */
export type StatusDoc = {
  host: string;
  site: string;
  desiredRevision: string;
  specHash?: string;
  observed: { lifecycle: Lifecycle; power: PowerState; deployedSpecHash?: string; message?: string };
  conditions: Condition[];
  lastAction?: { kind: ActionKind; id: string; outcome: 'pending' | 'running' | 'succeeded' | 'failed'; at: string; message?: string };
};

export interface StatusWriter {
  write(docs: StatusDoc[], revision: string, opts?: CallOptions): Promise<string>;
}

export type CheckResult = { conclusion: 'success' | 'failure' | 'neutral'; title: string; summary: string };

export interface Forge {
  upsertComment(pr: number, marker: string, body: string, opts?: CallOptions): Promise<void>;
  setCheck(sha: string, name: string, result: CheckResult, opts?: CallOptions): Promise<void>;
  approvals(pr: number, opts?: CallOptions): Promise<Approval[]>;
  pullsForCommit(sha: string, opts?: CallOptions): Promise<number[]>;
}
