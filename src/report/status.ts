/**
 * Status documents, computed once per pass from desired state, a fresh observation, the plan and the journal's
 * last action per host — pure (the clock comes in as `now`). `status/<site>/<host>.yaml` per host and
 * `status/<site>/summary.md` per site. Documents only change when the host's situation changes (transition times
 * are carried over from the previous document), so an idle pass writes nothing. Never holds a secret.
 */
import type { Condition, ConditionType, DesiredState, Host, ObservedHost, Plan, StatusDoc } from '../model/index.js';
import { scrubSecrets } from '../model/index.js';
import { emitYaml } from '../render/index.js';

export type LastAction = NonNullable<StatusDoc['lastAction']>;

export type StatusInput = {
  site: string;
  desired: DesiredState;
  /** Observations by host name. */
  observed: ReadonlyMap<string, ObservedHost>;
  plan: Plan;
  lastActions: ReadonlyMap<string, LastAction>;
  /** Hosts with an action in flight (journal). */
  inFlight: ReadonlySet<string>;
  previous: ReadonlyMap<string, StatusDoc>;
  now: string;
};

const TRANSITIONAL = new Set(['commissioning', 'deploying', 'releasing']);

function cond(type: ConditionType, on: boolean, reason: string, message: string): Omit<Condition, 'lastTransitionTime'> {
  return { type, status: on ? 'True' : 'False', reason, message: scrubSecrets(message) };
}

/**
 * What a document was computed from, beyond its host document: when a host's next pass has the same, its previous
 * document is the answer (same object), so a pass over a quiet fleet allocates next to nothing.
 */
type DocInputs = { host: Host; revision: string; facts: string };
const inputsOf = new WeakMap<StatusDoc, DocInputs>();

/** One document per desired host of `site`, sorted by host name. */
export function computeStatusDocs(input: StatusInput): StatusDoc[] {
  const { site, desired, plan } = input;
  const actions = new Map(plan.actions.map((a) => [a.host, a]));
  const waits = new Map(plan.waits.map((w) => [w.host, w]));
  const blocked = new Map(plan.blocked.map((b) => [b.action.host, b]));
  const hosts = desired.hosts.filter((h) => h.spec.site === site).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  return hosts.map((h) => {
    const name = h.metadata.name;
    const obs = input.observed.get(name);
    const specHash = desired.rendered.get(name)?.specHash;
    const action = actions.get(name);
    const wait = waits.get(name);
    const block = blocked.get(name);
    const last = input.lastActions.get(name);
    // Everything below reads only these (and the previous document's conditions, which it produced itself).
    const facts = [
      specHash,
      obs === undefined ? '-' : `${obs.lifecycle}\u0001${obs.power}\u0001${obs.deployedSpecHash}\u0001${obs.provider.message}\u0001${obs.errors.join('\u0002')}`,
      action ? `a\u0001${action.kind}\u0001${action.reason}` : wait ? `w\u0001${wait.reason}` : '',
      block ? block.reasons.map((r) => `${r.kind}\u0001${r.message}`).join('\u0002') : '',
      last ? `${last.kind}\u0001${last.id}\u0001${last.outcome}\u0001${last.at}\u0001${last.message}` : '',
      input.inFlight.has(name) ? 'f' : '',
    ].join('\u0003');
    const prev = input.previous.get(name);
    const was = prev && inputsOf.get(prev);
    if (was && was.host === h && was.facts === facts && prev!.site === site) {
      if (was.revision === desired.revision) return prev!;
      // A new revision that left this host as it was: the same document but for the revision it names (its parts,
      // which no one mutates, are shared; a 10,000-host commit would otherwise rebuild every document).
      const doc: StatusDoc = { ...prev!, desiredRevision: desired.revision };
      inputsOf.set(doc, { host: h, revision: desired.revision, facts });
      return doc;
    }
    const doc = statusDoc({ h, specHash, obs, action, wait, block, last, prev }, input);
    inputsOf.set(doc, { host: h, revision: desired.revision, facts });
    return doc;
  });
}

/** One host's share of a status computation (found once per host by `computeStatusDocs`). */
type HostStatusInput = {
  h: Host;
  specHash: string | undefined;
  obs: ObservedHost | undefined;
  action: Plan['actions'][number] | undefined;
  wait: Plan['waits'][number] | undefined;
  block: Plan['blocked'][number] | undefined;
  last: LastAction | undefined;
  /** Its document of the last pass, whose transition times carry over. */
  prev: StatusDoc | undefined;
};

function statusDoc(x: HostStatusInput, input: StatusInput): StatusDoc {
  const { h, specHash, obs, action, wait, block, last, prev } = x;
  const name = h.metadata.name;
  const lifecycle = obs?.lifecycle ?? 'unknown';
  const power = obs?.power ?? 'unknown';
  const provisioning = action !== undefined || wait !== undefined || TRANSITIONAL.has(lifecycle) || input.inFlight.has(name);
  const degradedReason =
    lifecycle === 'failed' || lifecycle === 'broken'
      ? { reason: lifecycle === 'failed' ? 'ProviderFailed' : 'Broken', message: obs?.provider.message ?? `Machine is ${lifecycle}` }
      : last?.outcome === 'failed'
        ? { reason: 'ActionFailed', message: `${last.kind} failed: ${last.message ?? ''}`.trim() }
        : obs && obs.errors.length > 0
          ? { reason: 'ObserveErrors', message: obs.errors.join('; ') }
          : undefined;
  const converged = !provisioning && !block && degradedReason === undefined;
  const conditions = [
    cond(
      'Ready',
      converged,
      converged ? 'Converged' : provisioning ? 'InProgress' : block ? 'Blocked' : 'NotConverged',
      converged ? `Host is ${h.spec.state}` : `Host is ${lifecycle}, wants ${h.spec.state}`,
    ),
    cond(
      'Provisioning',
      provisioning,
      action ? `Pending${cap(action.kind)}` : wait ? 'Waiting' : provisioning ? cap(lifecycle) : 'Idle',
      action ? action.reason : wait ? wait.reason : provisioning ? `Machine is ${lifecycle}` : '',
    ),
    cond('Degraded', degradedReason !== undefined, degradedReason?.reason ?? 'Healthy', degradedReason?.message ?? ''),
    cond(
      'Blocked',
      block !== undefined,
      block ? block.reasons.map((r) => cap(r.kind)).join(',') : 'NotBlocked',
      block ? block.reasons.map((r) => r.message).join('; ') : '',
    ),
  ];
  const withTimes: Condition[] = conditions.map((c) => {
    const p = prev?.conditions.find((x) => x.type === c.type);
    return { ...c, lastTransitionTime: p && p.status === c.status ? p.lastTransitionTime : input.now };
  });
  const doc: StatusDoc = {
    host: name,
    site: input.site,
    desiredRevision: input.desired.revision,
    observed: { lifecycle, power },
    conditions: withTimes,
  };
  if (specHash !== undefined) doc.specHash = specHash;
  if (obs?.deployedSpecHash !== undefined) doc.observed.deployedSpecHash = obs.deployedSpecHash;
  if (obs?.provider.message) doc.observed.message = scrubSecrets(obs.provider.message);
  if (last) doc.lastAction = last.message === undefined ? { ...last } : { ...last, message: scrubSecrets(last.message) };
  return doc;
}

function cap(s: string): string {
  return s
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/**
 * `status/<site>/<host>.yaml` content, through the renderer's YAML emitter (`render/yaml-emit.ts`: plain scalars only
 * where neither a YAML 1.1 nor a 1.2 reader could take them for anything but that string). A 10,000-host fleet
 * rewrites every file when the desired revision moves; the general `yaml` library took ~0.3 ms a document.
 */
export function renderStatusYaml(doc: StatusDoc): string {
  return `# Written by gough; do not edit.\n${emitYaml(doc)}`;
}

export type StatusCounts = { hosts: number; ready: number; provisioning: number; degraded: number; blocked: number };

export function statusCounts(docs: readonly StatusDoc[]): StatusCounts {
  const on = (d: StatusDoc, t: ConditionType) => d.conditions.some((c) => c.type === t && c.status === 'True');
  return {
    hosts: docs.length,
    ready: docs.filter((d) => on(d, 'Ready')).length,
    provisioning: docs.filter((d) => on(d, 'Provisioning')).length,
    degraded: docs.filter((d) => on(d, 'Degraded')).length,
    blocked: docs.filter((d) => on(d, 'Blocked')).length,
  };
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** `status/<site>/summary.md`: counts and one table row per host, for a person reading it on a forge. */
export function renderStatusSummary(site: string, revision: string, docs: readonly StatusDoc[]): string {
  const c = statusCounts(docs);
  const lines = [
    `# Status of site \`${site}\``,
    '',
    `Desired revision \`${revision}\`: ${c.hosts} hosts, ${c.ready} ready, ${c.provisioning} provisioning, ${c.degraded} degraded, ${c.blocked} blocked.`,
    '',
    '| Host | Lifecycle | Power | Ready | Condition | Last action |',
    '|---|---|---|---|---|---|',
  ];
  for (const d of docs) {
    const ready = d.conditions.find((x) => x.type === 'Ready');
    const notable = d.conditions.find((x) => x.type !== 'Ready' && x.status === 'True');
    const last = d.lastAction ? `${d.lastAction.kind} ${d.lastAction.outcome}` : '';
    lines.push(
      `| ${mdCell(d.host)} | ${d.observed.lifecycle} | ${d.observed.power} | ${ready?.status === 'True' ? 'yes' : 'no'} | ${
        notable ? mdCell(`${notable.type}: ${notable.reason}`) : ''
      } | ${mdCell(last)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The status commit's message: counts and the desired revision. */
export function statusCommitMessage(site: string, revision: string, docs: readonly StatusDoc[]): string {
  const c = statusCounts(docs);
  return `status(${site}): ${c.ready}/${c.hosts} ready, ${c.provisioning} provisioning, ${c.degraded} degraded, ${c.blocked} blocked at ${revision.slice(0, 12)}\n\nDesired-Revision: ${revision}\n`;
}

/** The files of `status/<site>/`: `<host>.yaml` per document and `summary.md`. */
/** Documents are not changed once made (a pass reuses unchanged ones whole): their YAML is kept with them. */
const yamlOf = new WeakMap<StatusDoc, string>();

export function statusFiles(site: string, revision: string, docs: readonly StatusDoc[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const d of docs) {
    let y = yamlOf.get(d);
    if (y === undefined) {
      y = renderStatusYaml(d);
      yamlOf.set(d, y);
    }
    m.set(`${d.host}.yaml`, y);
  }
  m.set('summary.md', renderStatusSummary(site, revision, docs));
  return m;
}
