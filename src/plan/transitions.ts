/**
 * THE transition table: what the planner does for one host, from its desired (state, power) and what the provider
 * observes (lifecycle, power, specHash match, agent health). Rows are checked top to bottom; the first row whose
 * every column matches wins (`*` matches anything). A test checks each row and that every combination hits a row.
 *
 * Columns:
 * - `desired`   the Host's `spec.state`.
 * - `power`     the Host's `spec.power` (only deployed hosts have power rules).
 * - `lifecycle` the observed lifecycle, or `absent` when the provider does not know the host at all.
 * - `obsPower`  `on`, `off`, or `unknown` (the provider said `unknown` or `error`: never treated as off).
 * - `spec`      `match` / `mismatch` between the deployed specHash (provider annotation, else agent report) and the
 *               desired one; `unknown` when nothing says what is deployed; `unrendered` when the repo could not render
 *               the host (it has errors), so there is nothing to deploy or compare.
 * - `agent`     `healthy`, `unhealthy` (the agent reports `healthy: false`), or `none` (no report).
 * - `outcome`   an action kind, `wait` (something outside this pass must happen first; listed under Waiting), or
 *               `none` (converged for this host).
 * - `disruptive` for actions: whether the action interrupts a workload and so must pass the host's policies.
 * - `why`       the reason shown in plans; `{deployed}`, `{desired}`, `{status}`, `{power}` are filled in.
 */
import type { ActionKind, Lifecycle } from '../model/index.js';

export type DesiredCol = 'deployed' | 'ready' | 'absent';
export type LifecycleCol = Lifecycle | 'absent';
export type ObsPowerCol = 'on' | 'off' | 'unknown';
export type SpecCol = 'match' | 'mismatch' | 'unknown' | 'unrendered';
export type AgentCol = 'healthy' | 'unhealthy' | 'none';
export type Outcome = ActionKind | 'wait' | 'none';

export type TransitionRow = {
  readonly id: string;
  readonly desired: DesiredCol;
  readonly power: 'on' | 'off' | '*';
  readonly lifecycle: LifecycleCol;
  readonly obsPower: ObsPowerCol | '*';
  readonly spec: SpecCol | '*';
  readonly agent: AgentCol | '*';
  readonly outcome: Outcome;
  readonly disruptive: boolean;
  readonly why: string;
};

export const TRANSITIONS = [
  // ---- desired: deployed ------------------------------------------------------------------------------------------
  { id: 'D01', desired: 'deployed', power: '*',   lifecycle: 'absent',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'register',    disruptive: false, why: 'Not known to the provider: enrol the machine' },
  { id: 'D02', desired: 'deployed', power: '*',   lifecycle: 'unknown',       obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Provider status {status} is not understood: waiting for a known state' },
  { id: 'D03', desired: 'deployed', power: '*',   lifecycle: 'new',           obsPower: '*',       spec: '*',          agent: '*',         outcome: 'commission',  disruptive: false, why: 'New machine: commission it before deploying' },
  { id: 'D04', desired: 'deployed', power: '*',   lifecycle: 'commissioning', obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Commissioning: waiting for it to finish' },
  { id: 'D05', desired: 'deployed', power: '*',   lifecycle: 'ready',         obsPower: '*',       spec: 'unrendered', agent: '*',         outcome: 'wait',        disruptive: false, why: 'Ready, but the repository cannot render this host: fix its errors to deploy' },
  { id: 'D06', desired: 'deployed', power: '*',   lifecycle: 'ready',         obsPower: '*',       spec: '*',          agent: '*',         outcome: 'deploy',      disruptive: false, why: 'Ready machine, desired deployed: deploy spec {desired}' },
  { id: 'D07', desired: 'deployed', power: '*',   lifecycle: 'allocated',     obsPower: '*',       spec: 'unrendered', agent: '*',         outcome: 'wait',        disruptive: false, why: 'Allocated, but the repository cannot render this host: fix its errors to deploy' },
  { id: 'D08', desired: 'deployed', power: '*',   lifecycle: 'allocated',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'deploy',      disruptive: false, why: 'Allocated machine, desired deployed: deploy spec {desired}' },
  { id: 'D09', desired: 'deployed', power: '*',   lifecycle: 'deploying',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Deploying: waiting for it to finish' },
  { id: 'D10', desired: 'deployed', power: '*',   lifecycle: 'deployed',      obsPower: '*',       spec: 'unrendered', agent: '*',         outcome: 'wait',        disruptive: false, why: 'Deployed, but the repository cannot render this host: nothing to compare until its errors are fixed' },
  { id: 'D11', desired: 'deployed', power: '*',   lifecycle: 'deployed',      obsPower: '*',       spec: 'mismatch',   agent: '*',         outcome: 'redeploy',    disruptive: true,  why: 'Deployed spec {deployed} differs from desired {desired}: redeploy' },
  { id: 'D12', desired: 'deployed', power: '*',   lifecycle: 'deployed',      obsPower: '*',       spec: 'unknown',    agent: '*',         outcome: 'redeploy',    disruptive: true,  why: 'Deployed, but neither the provider nor an agent says which spec: redeploy spec {desired}' },
  { id: 'D13', desired: 'deployed', power: '*',   lifecycle: 'deployed',      obsPower: 'unknown', spec: 'match',      agent: '*',         outcome: 'wait',        disruptive: false, why: 'Power state is {power}: waiting for the BMC to report on or off (never powered on blindly)' },
  { id: 'D14', desired: 'deployed', power: 'on',  lifecycle: 'deployed',      obsPower: 'off',     spec: 'match',      agent: '*',         outcome: 'power-on',    disruptive: false, why: 'Deployed and confirmed off, desired on: power on' },
  { id: 'D15', desired: 'deployed', power: 'on',  lifecycle: 'deployed',      obsPower: 'on',      spec: 'match',      agent: 'unhealthy', outcome: 'power-cycle', disruptive: true,  why: 'Running the desired spec but its agent reports unhealthy: power-cycle' },
  { id: 'D16', desired: 'deployed', power: 'on',  lifecycle: 'deployed',      obsPower: 'on',      spec: 'match',      agent: '*',         outcome: 'none',        disruptive: false, why: 'Deployed with the desired spec and on' },
  { id: 'D17', desired: 'deployed', power: 'off', lifecycle: 'deployed',      obsPower: 'on',      spec: 'match',      agent: '*',         outcome: 'power-off',   disruptive: true,  why: 'Deployed and on, desired off: power off' },
  { id: 'D18', desired: 'deployed', power: 'off', lifecycle: 'deployed',      obsPower: 'off',     spec: 'match',      agent: '*',         outcome: 'none',        disruptive: false, why: 'Deployed with the desired spec and off' },
  { id: 'D19', desired: 'deployed', power: '*',   lifecycle: 'releasing',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Releasing: waiting for it to finish before deploying' },
  { id: 'D20', desired: 'deployed', power: '*',   lifecycle: 'failed',        obsPower: '*',       spec: 'unrendered', agent: '*',         outcome: 'wait',        disruptive: false, why: 'Failed, and the repository cannot render this host: fix its errors to deploy again' },
  { id: 'D21', desired: 'deployed', power: '*',   lifecycle: 'failed',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'deploy',      disruptive: false, why: 'Provider reports {status}: deploy spec {desired} again' },
  { id: 'D22', desired: 'deployed', power: '*',   lifecycle: 'broken',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Marked broken in the provider: an operator must mark it fixed' },
  // ---- desired: ready (enrolled and commissioned, no workload) -----------------------------------------------------
  { id: 'R01', desired: 'ready',    power: '*',   lifecycle: 'absent',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'register',    disruptive: false, why: 'Not known to the provider: enrol the machine' },
  { id: 'R02', desired: 'ready',    power: '*',   lifecycle: 'unknown',       obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Provider status {status} is not understood: waiting for a known state' },
  { id: 'R03', desired: 'ready',    power: '*',   lifecycle: 'new',           obsPower: '*',       spec: '*',          agent: '*',         outcome: 'commission',  disruptive: false, why: 'New machine: commission it' },
  { id: 'R04', desired: 'ready',    power: '*',   lifecycle: 'commissioning', obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Commissioning: waiting for it to finish' },
  { id: 'R05', desired: 'ready',    power: '*',   lifecycle: 'ready',         obsPower: '*',       spec: '*',          agent: '*',         outcome: 'none',        disruptive: false, why: 'Ready, as desired' },
  { id: 'R06', desired: 'ready',    power: '*',   lifecycle: 'allocated',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'release',     disruptive: true,  why: 'Allocated, desired ready: release' },
  { id: 'R07', desired: 'ready',    power: '*',   lifecycle: 'deploying',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Deploying: waiting for it to finish before releasing' },
  { id: 'R08', desired: 'ready',    power: '*',   lifecycle: 'deployed',      obsPower: '*',       spec: '*',          agent: '*',         outcome: 'release',     disruptive: true,  why: 'Deployed, desired ready: release' },
  { id: 'R09', desired: 'ready',    power: '*',   lifecycle: 'releasing',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Releasing: waiting for it to finish' },
  { id: 'R10', desired: 'ready',    power: '*',   lifecycle: 'failed',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'release',     disruptive: true,  why: 'Provider reports {status}, desired ready: release' },
  { id: 'R11', desired: 'ready',    power: '*',   lifecycle: 'broken',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Marked broken in the provider: an operator must mark it fixed' },
  // ---- desired: absent (taken out of service: released, then left in the provider) --------------------------------
  { id: 'A01', desired: 'absent',   power: '*',   lifecycle: 'absent',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'none',        disruptive: false, why: 'Not in the provider, as desired' },
  { id: 'A02', desired: 'absent',   power: '*',   lifecycle: 'unknown',       obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Provider status {status} is not understood: waiting for a known state' },
  { id: 'A03', desired: 'absent',   power: '*',   lifecycle: 'new',           obsPower: '*',       spec: '*',          agent: '*',         outcome: 'none',        disruptive: false, why: 'Out of service (left in the provider, not deployed)' },
  { id: 'A04', desired: 'absent',   power: '*',   lifecycle: 'commissioning', obsPower: '*',       spec: '*',          agent: '*',         outcome: 'none',        disruptive: false, why: 'Out of service (left in the provider, not deployed)' },
  { id: 'A05', desired: 'absent',   power: '*',   lifecycle: 'ready',         obsPower: '*',       spec: '*',          agent: '*',         outcome: 'none',        disruptive: false, why: 'Out of service (left in the provider, not deployed)' },
  { id: 'A06', desired: 'absent',   power: '*',   lifecycle: 'allocated',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'release',     disruptive: true,  why: 'Desired absent: release the machine (it stays in the provider)' },
  { id: 'A07', desired: 'absent',   power: '*',   lifecycle: 'deploying',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Deploying: waiting for it to finish before releasing' },
  { id: 'A08', desired: 'absent',   power: '*',   lifecycle: 'deployed',      obsPower: '*',       spec: '*',          agent: '*',         outcome: 'release',     disruptive: true,  why: 'Desired absent: release the machine (it stays in the provider)' },
  { id: 'A09', desired: 'absent',   power: '*',   lifecycle: 'releasing',     obsPower: '*',       spec: '*',          agent: '*',         outcome: 'wait',        disruptive: false, why: 'Releasing: waiting for it to finish' },
  { id: 'A10', desired: 'absent',   power: '*',   lifecycle: 'failed',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'release',     disruptive: true,  why: 'Desired absent, provider reports {status}: release the machine' },
  { id: 'A11', desired: 'absent',   power: '*',   lifecycle: 'broken',        obsPower: '*',       spec: '*',          agent: '*',         outcome: 'none',        disruptive: false, why: 'Out of service (marked broken in the provider)' },
] as const satisfies readonly TransitionRow[];

export type TransitionId = (typeof TRANSITIONS)[number]['id'];

/** The facts of one host the table is matched against. */
export type HostFacts = {
  desired: DesiredCol;
  power: 'on' | 'off';
  lifecycle: LifecycleCol;
  obsPower: ObsPowerCol;
  spec: SpecCol;
  agent: AgentCol;
};

const byKey = new Map<DesiredCol, Map<LifecycleCol, TransitionRow[]>>();
for (const row of TRANSITIONS as readonly TransitionRow[]) {
  let inner = byKey.get(row.desired);
  if (!inner) {
    inner = new Map();
    byKey.set(row.desired, inner);
  }
  const list = inner.get(row.lifecycle) ?? [];
  list.push(row);
  inner.set(row.lifecycle, list);
}

function colMatches(col: string, value: string): boolean {
  return col === '*' || col === value;
}

/** The first row matching the facts (rows are pre-grouped by desired state and lifecycle). */
export function transitionFor(f: HostFacts): TransitionRow | undefined {
  return matchRow(f.desired, f.power, f.lifecycle, f.obsPower, f.spec, f.agent);
}

/** `transitionFor` with the facts as arguments (no object per host in the planner's loop). */
export function matchRow(
  desired: DesiredCol,
  power: 'on' | 'off',
  lifecycle: LifecycleCol,
  obsPower: ObsPowerCol,
  spec: SpecCol,
  agent: AgentCol,
): TransitionRow | undefined {
  const rows = byKey.get(desired)?.get(lifecycle);
  if (!rows) return undefined;
  for (const r of rows) {
    if (colMatches(r.power, power) && colMatches(r.obsPower, obsPower) && colMatches(r.spec, spec) && colMatches(r.agent, agent)) return r;
  }
  return undefined;
}
