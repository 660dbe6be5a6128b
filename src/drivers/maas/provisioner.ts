/**
 * The MAAS `Provisioner`: observes machines with one `GET machines/` per pass and performs actions by acting, then
 * verifying by polling the machine until MAAS shows the effect or a deadline passes.
 *
 * Idempotency: every action first reads the machine; when the effect already holds it resolves without acting
 * (registered, commissioned, deployed with the same specHash, released, power already in the target state).
 * Power-on is sent only to a machine MAAS reports `off`: MAAS `power_on` cycles a running IPMI machine.
 */
import type { Logger } from 'pino';
import {
  type Action,
  type ActionKind,
  type ObserveOptions,
  type DesiredHost,
  GoughError,
  type Host,
  type ObservedHost,
  type Outcome,
  type PerformOptions,
  type Provisioner,
  type SecretResolver,
  type Site,
  bootMacOf,
  hostnameOf,
  isGoughError,
  sleep,
} from '../../model/index.js';
import type { MaasClient } from './client.js';
import { NODE_STATUS, NODE_STATUS_LABEL, lifecycleOfStatus, powerOf } from './status.js';
import type { MaasMachine } from './types.js';

/** Workload annotation keys Gough stamps on a deployment (MAAS clears them on release). */
export const ANNOTATION_REVISION = 'gough_revision';
export const ANNOTATION_SPEC_HASH = 'gough_spec_hash';

/** Deadlines per action kind, in ms, measured from the start of `perform` (MAAS's own node timeout is 30 min). */
export const DEFAULT_DEADLINES_MS: Readonly<Record<ActionKind, number>> = {
  register: 2 * 60_000,
  commission: 40 * 60_000,
  deploy: 40 * 60_000,
  redeploy: 55 * 60_000,
  release: 15 * 60_000,
  'power-on': 5 * 60_000,
  'power-off': 5 * 60_000,
  'power-cycle': 10 * 60_000,
  'set-boot': 60_000,
  'pxe-update': 60_000,
};

export type MaasProvisionerOptions = {
  client: MaasClient;
  site: Site;
  /** Resolves BMC credentials for `register` (they go to MAAS only, never to logs). */
  secrets?: SecretResolver;
  /** How often `perform` re-reads a machine while verifying (default 5 s; the lab uses ~50 ms). */
  pollIntervalMs?: number;
  deadlinesMs?: Partial<Record<ActionKind, number>>;
  /** `power_off` stop mode (default hard, as MAAS). */
  stopMode?: 'soft' | 'hard';
  logger?: Logger;
  now?: () => number;
};

type MatchedHost = { host: Host; machine: MaasMachine };

function macsOf(h: Host): string[] {
  const boot = bootMacOf(h);
  const all = h.spec.hardware.macs.map((m) => m.toLowerCase());
  return boot ? [boot.toLowerCase(), ...all.filter((m) => m !== boot.toLowerCase())] : all;
}

/**
 * Maps machines to desired hosts by MAC: a host's MACs (boot MAC first) are looked up among machines' boot
 * interfaces, then among all interfaces. A machine matches at most one host. Pure.
 */
export function matchMachines(hosts: readonly Host[], machines: readonly MaasMachine[]): { matched: MatchedHost[]; orphans: MaasMachine[] } {
  const byBoot = new Map<string, MaasMachine>();
  const byAny = new Map<string, MaasMachine>();
  for (const m of machines) {
    if (m.bootInterface) byBoot.set(m.bootInterface.macAddress, m);
    for (const i of m.interfaces) if (!byAny.has(i.macAddress)) byAny.set(i.macAddress, m);
  }
  const claimed = new Set<string>();
  const matched: MatchedHost[] = [];
  for (const host of hosts) {
    const macs = macsOf(host);
    let found: MaasMachine | undefined;
    for (const mac of macs) {
      const m = byBoot.get(mac);
      if (m && !claimed.has(m.systemId)) {
        found = m;
        break;
      }
    }
    if (!found) {
      for (const mac of macs) {
        const m = byAny.get(mac);
        if (m && !claimed.has(m.systemId)) {
          found = m;
          break;
        }
      }
    }
    if (found) {
      claimed.add(found.systemId);
      matched.push({ host, machine: found });
    }
  }
  return { matched, orphans: machines.filter((m) => !claimed.has(m.systemId)) };
}

/** One MAAS machine as Gough's normalized ObservedHost. Pure. */
export function toObservedHost(name: string, site: string | undefined, m: MaasMachine): ObservedHost {
  const lifecycle = lifecycleOfStatus(m.status);
  const power = powerOf(m.powerState);
  const statusLabel = m.statusName ?? (m.status === undefined ? 'unknown' : (NODE_STATUS_LABEL[m.status] ?? String(m.status)));
  const provider: ObservedHost['provider'] = { kind: 'maas', id: m.systemId, status: statusLabel };
  if (m.statusMessage) provider.message = m.statusMessage;
  const errors: string[] = [];
  if ((lifecycle === 'failed' || lifecycle === 'broken') && m.errorDescription) errors.push(m.errorDescription);
  if (power === 'error') errors.push('MAAS reports power state "error"');
  const o: ObservedHost = { name, lifecycle, power, provider, errors };
  if (site !== undefined) o.site = site;
  if ((lifecycle === 'deployed' || lifecycle === 'deploying') && m.osystem && m.distroSeries) {
    o.os = { distro: m.osystem, series: m.distroSeries };
  }
  const hash = m.annotations[ANNOTATION_SPEC_HASH];
  if (hash) o.deployedSpecHash = hash;
  const rev = m.annotations[ANNOTATION_REVISION];
  if (rev) o.deployedRevision = rev;
  const macs = [...new Set([...(m.bootInterface ? [m.bootInterface.macAddress] : []), ...m.interfaces.map((i) => i.macAddress)])];
  if (macs.length > 0) o.macs = macs;
  return o;
}

/**
 * Desired hosts and MAAS machines → ObservedHost per matched host, then orphans (named by hostname). A host's
 * machine is found wherever it is; orphans are only machines of the site's zone/pool when those are set. Pure.
 */
export function mapObserved(
  hosts: readonly Host[],
  machines: readonly MaasMachine[],
  site: string | undefined,
  scope: { zone?: string | undefined; pool?: string | undefined } = {},
): ObservedHost[] {
  const { matched, orphans } = matchMachines(hosts, machines);
  const inScope = (m: MaasMachine) => (!scope.zone || m.zone === scope.zone) && (!scope.pool || m.pool === scope.pool);
  // An orphan whose hostname is also a desired host's name (its MACs differ) must not pass for that host's machine.
  const names = new Set(hosts.map((h) => h.metadata.name));
  const orphanName = (m: MaasMachine) => (names.has(m.hostname) ? `${m.hostname}@${m.systemId}` : m.hostname);
  return [
    ...matched.map(({ host, machine }) => toObservedHost(host.metadata.name, site, machine)),
    ...orphans.filter(inScope).map((m) => toObservedHost(orphanName(m), site, m)),
  ];
}

/** A focused observation of more hosts than this lists every machine (keeps the query string short). */
const MAX_FILTERED_HOSTS = 32;

const TRANSIENT = new Set(['busy', 'unreachable', 'timeout', 'bad-response']);

type Verdict = 'done' | 'wait' | { fail: string };

/** MAAS hostnames are single labels (the domain is separate): `db-01.dc1.example` → `db-01`. */
export function maasHostnameOf(h: Host): string {
  return hostnameOf(h).split('.')[0] ?? h.metadata.name;
}

/** Architecture string MAAS expects for a host. */
function architectureOf(h: Host): string {
  return `${h.spec.hardware.arch}/generic`;
}

/** `distro_series` for a rendered OS: the bare series for Ubuntu, `distro/series` otherwise. */
export function distroSeriesOf(os: { distro: string; series: string }): string {
  return os.distro === 'ubuntu' ? os.series : `${os.distro}/${os.series}`;
}

export class MaasProvisioner implements Provisioner {
  readonly kind = 'maas';
  #client: MaasClient;
  #site: Site;
  #secrets: SecretResolver | undefined;
  #poll: number;
  #deadlines: Record<ActionKind, number>;
  #stopMode: 'soft' | 'hard';
  #logger: Logger | undefined;
  #now: () => number;

  constructor(opts: MaasProvisionerOptions) {
    this.#client = opts.client;
    this.#site = opts.site;
    this.#secrets = opts.secrets;
    this.#poll = opts.pollIntervalMs ?? 5000;
    this.#deadlines = { ...DEFAULT_DEADLINES_MS, ...opts.deadlinesMs };
    this.#stopMode = opts.stopMode ?? 'hard';
    this.#logger = opts.logger;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * One `GET machines/`, mapped by MAC. Never changes anything. Not filtered by the site's zone/pool on the server:
   * a host's machine is found even when someone moved it out of the pool (else Gough would try to register it
   * again); only orphans are limited to the site's zone/pool. With `only` (a focused pass, a few hosts) the list is
   * filtered by the hosts' MACs (`mac_address`, repeated), so MAAS answers with their machines, not the fleet's.
   */
  async observe(hosts: readonly DesiredHost[], opts: ObserveOptions = {}): Promise<ObservedHost[]> {
    const macs = opts.only === true && hosts.length <= MAX_FILTERED_HOSTS ? hosts.flatMap((d) => macsOf(d.host)) : [];
    const machines = await this.#client.listMachines(macs.length > 0 ? { mac_address: macs } : {}, this.#callOpts(opts));
    const maas = this.#site.spec.maas;
    return mapObserved(
      hosts.map((d) => d.host),
      machines,
      this.#site.metadata.name,
      { zone: maas?.zone, pool: maas?.pool },
    );
  }

  async perform(action: Action, target: DesiredHost, opts: PerformOptions = {}): Promise<Outcome> {
    const deadline = this.#now() + (opts.deadlineMs ?? this.#deadlines[action.kind]);
    const name = target.host.metadata.name;
    const log = this.#logger?.child({ pass: opts.pass, host: name, action: action.kind, actionId: action.id });
    log?.info('maas action start');
    const ctx: Ctx = { name, target, deadline, signal: opts.signal, action };
    let result: Done;
    try {
      result = await this.#act(ctx);
    } catch (e) {
      // Client errors say what MAAS answered; say first which host and action they belong to.
      if (isGoughError(e) && e.message.startsWith('MAAS ')) {
        throw new GoughError(e.code, `Cannot ${action.kind} host "${name}": ${e.message}`, { retry: e.retry, cause: e });
      }
      throw e;
    }
    log?.info({ systemId: result.machine.systemId, outcome: result.message }, 'maas action done');
    return { message: result.message, observed: toObservedHost(name, this.#site.metadata.name, result.machine) };
  }

  async #act(ctx: Ctx): Promise<Done> {
    const { action, name, target } = ctx;
    let machine = await this.#find(target.host, ctx.signal);
    let result: Done;
    switch (action.kind) {
      case 'register':
        result = await this.#register(ctx, machine);
        break;
      case 'commission':
        result = await this.#commission(ctx, this.#need(ctx, machine));
        break;
      case 'deploy':
      case 'redeploy':
        result = await this.#deploy(ctx, this.#need(ctx, machine));
        break;
      case 'release':
        machine = this.#need(ctx, machine);
        result = await this.#release(ctx, machine);
        break;
      case 'power-on':
        result = await this.#powerOn(ctx, this.#need(ctx, machine));
        break;
      case 'power-off':
        result = await this.#powerOff(ctx, this.#need(ctx, machine));
        break;
      case 'power-cycle':
        result = await this.#powerCycle(ctx, this.#need(ctx, machine));
        break;
      default:
        throw new GoughError('conflict', `Cannot ${action.kind} host "${name}": the MAAS provisioner does not perform "${action.kind}"`);
    }
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // Actions

  async #register(ctx: Ctx, existing: MaasMachine | undefined): Promise<Done> {
    if (existing) return { message: `already registered as MAAS machine "${existing.systemId}"`, machine: existing };
    const host = ctx.target.host;
    const bmc = host.spec.hardware.bmc;
    const siteBmc = this.#site.spec.bmc;
    const powerParameters: Record<string, string> = {};
    let powerType = 'manual';
    if (bmc?.address) {
      powerType = 'ipmi';
      powerParameters['power_driver'] = 'LAN_2_0';
      powerParameters['power_address'] = bmc.address;
      const cipher = bmc.cipher ?? siteBmc?.cipher;
      if (cipher !== undefined) powerParameters['cipher_suite_id'] = String(cipher);
      let user = bmc.username ?? siteBmc?.username;
      const ref = bmc.credentialsRef ?? siteBmc?.credentialsRef;
      if (ref && this.#secrets) {
        let pass = await this.#secrets(ref);
        const colon = pass.indexOf(':');
        if (user === undefined && colon > 0) {
          user = pass.slice(0, colon);
          pass = pass.slice(colon + 1);
        }
        powerParameters['power_pass'] = pass;
      }
      if (user !== undefined) powerParameters['power_user'] = user;
    }
    const maas = this.#site.spec.maas;
    const created = await this.#client.createMachine(
      {
        architecture: architectureOf(host),
        macAddresses: macsOf(host),
        hostname: maasHostnameOf(host),
        powerType,
        powerParameters,
        ...(maas?.zone ? { zone: maas.zone } : {}),
        ...(maas?.pool ? { pool: maas.pool } : {}),
      },
      this.#callOpts(ctx),
    );
    const m = await this.#waitFor(ctx, created.systemId, 'registered', () => 'done');
    return { message: `registered as MAAS machine "${m.systemId}"`, machine: m };
  }

  async #commission(ctx: Ctx, m: MaasMachine): Promise<Done> {
    const lc = lifecycleOfStatus(m.status);
    if (lc === 'ready' || lc === 'allocated' || lc === 'deploying' || lc === 'deployed') {
      return { message: `already commissioned (${m.statusName ?? lc})`, machine: m };
    }
    if (lc !== 'commissioning') {
      if (lc === 'releasing') m = await this.#waitFor(ctx, m.systemId, 'Ready', readyVerdict);
      else m = await this.#client.commission(m.systemId, {}, this.#callOpts(ctx));
    }
    const done = await this.#waitFor(ctx, m.systemId, 'Ready', (x) => {
      if (x.status === NODE_STATUS.READY) return 'done';
      if (x.status === NODE_STATUS.FAILED_COMMISSIONING || x.status === NODE_STATUS.FAILED_TESTING) return { fail: 'commissioning failed' };
      return 'wait';
    });
    return { message: 'commissioned', machine: done };
  }

  async #deploy(ctx: Ctx, m: MaasMachine): Promise<Done> {
    const specHash = ctx.target.rendered.specHash;
    const kind = ctx.action.kind;
    if (m.status === NODE_STATUS.DEPLOYED) {
      if (m.annotations[ANNOTATION_SPEC_HASH] === specHash) return { message: `already deployed with spec ${specHash}`, machine: m };
      if (kind === 'deploy') {
        const has = m.annotations[ANNOTATION_SPEC_HASH];
        throw new GoughError(
          'conflict',
          `Cannot deploy host "${ctx.name}": it is already deployed${has ? ` with spec "${has}"` : ''}; a redeploy is needed`,
        );
      }
    }
    if (m.status === NODE_STATUS.DEPLOYING && m.annotations[ANNOTATION_SPEC_HASH] === specHash) {
      // A deployment of this spec is under way (e.g. started before a restart): wait for it, never issue it twice.
      return this.#awaitDeployed(ctx, m.systemId, 'deployed (resumed)');
    }
    const lc = lifecycleOfStatus(m.status);
    if (lc === 'new' || lc === 'commissioning') {
      if (lc === 'new') throw new GoughError('conflict', `Cannot deploy host "${ctx.name}": MAAS machine "${m.systemId}" is New and needs commissioning`);
      m = await this.#waitFor(ctx, m.systemId, 'Ready', readyVerdict);
    }
    if (m.status !== NODE_STATUS.READY && m.status !== NODE_STATUS.ALLOCATED) {
      // Deployed (other spec), Deploying (other spec), failed deployment, broken, releasing: release first.
      if (m.status !== NODE_STATUS.RELEASING && m.status !== NODE_STATUS.DISK_ERASING) {
        await this.#client.release(m.systemId, this.#releaseInput(), this.#callOpts(ctx));
      }
      m = await this.#waitFor(ctx, m.systemId, 'Ready', readyVerdict);
    }
    // Allocate explicitly (MAAS would auto-allocate from Ready) so the workload annotations can be stamped before
    // the deploy starts: whatever happens to this process afterwards, MAAS itself says which spec is being deployed.
    if (m.status === NODE_STATUS.READY) m = await this.#client.allocate({ systemId: m.systemId, comment: `gough ${ctx.action.id}` }, this.#callOpts(ctx));
    await this.#client.setAnnotations(m.systemId, this.#annotations(ctx), this.#callOpts(ctx));
    const rendered = ctx.target.rendered;
    const deployed = await this.#client.deploy(
      m.systemId,
      { distroSeries: distroSeriesOf(rendered.os), userData: rendered.userData, comment: `gough ${kind} ${ctx.action.id}` },
      this.#callOpts(ctx),
    );
    return this.#awaitDeployed(ctx, deployed.systemId, kind === 'redeploy' ? 'redeployed' : 'deployed');
  }

  async #awaitDeployed(ctx: Ctx, systemId: string, message: string): Promise<Done> {
    let m = await this.#waitFor(ctx, systemId, 'Deployed', (x) => {
      if (x.status === NODE_STATUS.DEPLOYED) return 'done';
      if (x.status === NODE_STATUS.FAILED_DEPLOYMENT) return { fail: 'deployment failed' };
      if (x.status !== NODE_STATUS.DEPLOYING && x.status !== NODE_STATUS.ALLOCATED) return { fail: 'deployment stopped' };
      return 'wait';
    });
    if (m.annotations[ANNOTATION_SPEC_HASH] !== ctx.target.rendered.specHash) {
      m = await this.#client.setAnnotations(systemId, this.#annotations(ctx), this.#callOpts(ctx));
    }
    return { message: `${message} (${m.osystem ?? ''}/${m.distroSeries ?? ''}, spec ${ctx.target.rendered.specHash})`, machine: m };
  }

  async #release(ctx: Ctx, m: MaasMachine): Promise<Done> {
    if (m.status === NODE_STATUS.READY || m.status === NODE_STATUS.NEW) return { message: `already released (${m.statusName ?? 'Ready'})`, machine: m };
    if (m.status !== NODE_STATUS.RELEASING && m.status !== NODE_STATUS.DISK_ERASING) {
      await this.#client.release(m.systemId, this.#releaseInput(), this.#callOpts(ctx));
    }
    const done = await this.#waitFor(ctx, m.systemId, 'Ready', readyVerdict);
    return { message: 'released', machine: done };
  }

  async #powerOn(ctx: Ctx, m: MaasMachine): Promise<Done> {
    const state = await this.#confirmedPower(ctx, m);
    if (state === 'on') return { message: 'already on', machine: m };
    await this.#client.powerOn(m.systemId, { comment: `gough ${ctx.action.id}` }, this.#callOpts(ctx));
    const done = await this.#waitFor(ctx, m.systemId, 'power on', powerVerdict('on'));
    return { message: 'powered on', machine: done };
  }

  async #powerOff(ctx: Ctx, m: MaasMachine): Promise<Done> {
    if (m.powerState === 'off') return { message: 'already off', machine: m };
    await this.#client.powerOff(m.systemId, { stopMode: this.#stopMode, comment: `gough ${ctx.action.id}` }, this.#callOpts(ctx));
    const done = await this.#waitFor(ctx, m.systemId, 'power off', powerVerdict('off'));
    return { message: 'powered off', machine: done };
  }

  async #powerCycle(ctx: Ctx, m: MaasMachine): Promise<Done> {
    const state = await this.#confirmedPower(ctx, m);
    if (state === 'on') {
      await this.#client.powerOff(m.systemId, { stopMode: 'hard', comment: `gough ${ctx.action.id}` }, this.#callOpts(ctx));
      m = await this.#waitFor(ctx, m.systemId, 'power off', powerVerdict('off'));
    }
    await this.#client.powerOn(m.systemId, { comment: `gough ${ctx.action.id}` }, this.#callOpts(ctx));
    const done = await this.#waitFor(ctx, m.systemId, 'power on', powerVerdict('on'));
    return { message: 'power cycled', machine: done };
  }

  /** `on` or `off` as MAAS knows it; an `error`/`unknown` state is re-queried once from the BMC, never assumed off. */
  async #confirmedPower(ctx: Ctx, m: MaasMachine): Promise<'on' | 'off'> {
    let state = powerOf(m.powerState);
    if (state === 'error' || state === 'unknown') state = powerOf(await this.#client.queryPowerState(m.systemId, this.#callOpts(ctx)));
    if (state === 'on' || state === 'off') return state;
    throw new GoughError(
      'provider-error',
      `Cannot power on host "${ctx.name}": MAAS reports power state "${state}"; Gough powers on only a machine confirmed off`,
      { retry: { kind: 'backoff' } },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  #need(ctx: Ctx, m: MaasMachine | undefined): MaasMachine {
    if (m) return m;
    throw new GoughError(
      'not-found',
      `Cannot ${ctx.action.kind} host "${ctx.name}": no MAAS machine has its MAC addresses (${macsOf(ctx.target.host).join(', ')})`,
      { retry: { kind: 'never' } },
    );
  }

  /** The machine of one host: one filtered `GET machines/?mac_address=…` call. */
  async #find(host: Host, signal: AbortSignal | undefined): Promise<MaasMachine | undefined> {
    const machines = await this.#client.listMachines({ mac_address: macsOf(host) }, signal ? { signal } : {});
    return matchMachines([host], machines).matched[0]?.machine;
  }

  #annotations(ctx: Ctx): Record<string, string> {
    return { [ANNOTATION_REVISION]: ctx.target.revision, [ANNOTATION_SPEC_HASH]: ctx.target.rendered.specHash };
  }

  #releaseInput(): { erase?: boolean; quickErase?: boolean } {
    return this.#site.spec.maas?.eraseOnRelease ? { erase: true, quickErase: true } : {};
  }

  #callOpts(o: { signal?: AbortSignal | undefined }): { signal?: AbortSignal } {
    return o.signal ? { signal: o.signal } : {};
  }

  /** Polls `GET machines/{id}/` until the verdict is done, fails, or the deadline passes. Transient errors are polled through. */
  async #waitFor(ctx: Ctx, systemId: string, goal: string, verdict: (m: MaasMachine) => Verdict): Promise<MaasMachine> {
    let last: MaasMachine | undefined;
    let lastError: GoughError | undefined;
    for (;;) {
      try {
        last = await this.#client.readMachine(systemId, this.#callOpts(ctx));
        lastError = undefined;
        const v = verdict(last);
        if (v === 'done') return last;
        if (v !== 'wait') {
          const why = last.errorDescription || last.statusMessage || last.statusName || '';
          throw new GoughError('provider-error', `Cannot ${ctx.action.kind} host "${ctx.name}": MAAS ${v.fail}${why ? `: ${why}` : ''}`, {
            retry: { kind: 'never' },
          });
        }
      } catch (e) {
        if (!isGoughError(e) || !TRANSIENT.has(e.code)) throw e;
        lastError = e;
      }
      if (this.#now() + this.#poll > ctx.deadline) {
        const seen = last ? `it is "${last.statusName ?? last.status}", power "${last.powerState}"${last.statusMessage ? ` (${last.statusMessage})` : ''}` : lastError?.message;
        throw new GoughError('verify-failed', `Host "${ctx.name}" did not reach ${goal} before the deadline: ${seen ?? 'no answer'}`, {
          retry: { kind: 'backoff' },
          cause: lastError,
        });
      }
      await sleep(this.#poll, ctx.signal);
    }
  }
}

type Ctx = { name: string; target: DesiredHost; deadline: number; signal: AbortSignal | undefined; action: Action };
type Done = { message: string; machine: MaasMachine };

function readyVerdict(x: MaasMachine): Verdict {
  if (x.status === NODE_STATUS.READY) return 'done';
  if (x.status === NODE_STATUS.FAILED_RELEASING || x.status === NODE_STATUS.FAILED_DISK_ERASING) return { fail: 'release failed' };
  if (x.status === NODE_STATUS.FAILED_COMMISSIONING) return { fail: 'commissioning failed' };
  return 'wait';
}

function powerVerdict(want: 'on' | 'off'): (m: MaasMachine) => Verdict {
  return (m) => (m.powerState === want ? 'done' : m.powerState === 'error' ? { fail: 'reports power state "error"' } : 'wait');
}
