/**
 * The emulated MAAS region: machines, their timed state machines, events and tags. No HTTP here: the server
 * (server.ts) authenticates, injects faults, logs, and calls these methods, which either return an answer or throw
 * `MaasReply` errors carrying MAAS's status code and body.
 */
import { seededRandom } from '../../model/index.js';
import { type EmuMachine, type EmuPower, machineJson, renderMachine } from './machine.js';
import { FAILURE_OF, RELEASABLE, S, STATUS_KEY, STATUS_NAME, canTransition } from './status.js';

/** An HTTP answer; thrown for errors (`status >= 400`). */
export class MaasReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
  static text(status: number, text: string, headers: Record<string, string> = {}): MaasReply {
    return new MaasReply(status, text, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  }
}

export type SeedMachine = {
  hostname: string;
  macs: string[];
  /** `amd64/generic` unless given. */
  architecture?: string;
  /** Initial status: a name (`new`, `ready`, `deployed`, `failed_deployment`, …) or a numeric code. Default `new`. */
  status?: string | number;
  power?: EmuPower;
  powerType?: string;
  powerParameters?: Record<string, string>;
  systemId?: string;
  owner?: string | null;
  annotations?: Record<string, string>;
  osystem?: string;
  distroSeries?: string;
  tags?: string[];
  errorDescription?: string;
  /** Zone and resource pool names (default `default`). */
  zone?: string;
  pool?: string;
};

export type OpFault = {
  /** Probability (0-1) that a request of this operation fails. */
  rate?: number;
  /** Fail exactly the next N requests of this operation (deterministic). */
  count?: number;
  /** Status to answer (default 409). */
  status?: number;
  /** Retry-After seconds; `null` sends none (default 5 for 409, 10 for 503, none otherwise). */
  retryAfter?: number | null;
  body?: string;
  /** Extra latency for this operation. */
  latencyMs?: number;
};

export type FaultConfig = {
  /** Probability that any mutating request (POST/PUT/DELETE) fails transiently with 409 + Retry-After. */
  failRate?: number;
  /** Retry-After seconds used by `failRate` (default 5, MAAS's serialization-conflict value). */
  retryAfterSeconds?: number;
  /** Per operation: op names (`deploy`, `power_on`, `query`…) or `list`, `read`, `create`, `update`, `delete`, `*`. */
  ops?: Record<string, OpFault>;
  /** Latency added to every API request. */
  latencyMs?: number;
  /** Extra latency per machine listed by `GET machines/` (MAAS lists get slow at scale; filtered lists do not). */
  listLatencyPerMachineMs?: number;
  /** Latency of `query_power_state` (real MAAS waits on the BMC, up to 60 s). */
  queryPowerLatencyMs?: number;
  /** Machines (hostname or system_id) whose `power_state` reads `error`. */
  powerStateError?: string[];
  /** Machines whose deployments hang until MAAS's node timeout turns them into Failed deployment. */
  stuckDeploy?: string[];
  /** Machines whose deployments fail (curtin error). */
  failDeploy?: string[];
  deployFailRate?: number;
  deployErrorDescription?: string;
  /** Machines whose commissioning fails. */
  failCommission?: string[];
  commissionFailRate?: number;
  /** MAAS node timeout for monitored states (default 30 min × timeFactor). */
  nodeTimeoutMs?: number;
  /** Seed of the fault dice. */
  seed?: number;
};

export type EmuEvent = {
  id: number;
  node: string;
  hostname: string;
  username: string;
  level: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
  created: string;
  type: string;
  description: string;
  at: number;
};

type Tag = { name: string; comment: string; definition: string; kernel_opts: string | null };

/** Base durations (ms) at timeFactor 1. */
const D = {
  power: 3000,
  commissionBoot: 4000,
  commissionRun: 10_000,
  deployPxe: 3000,
  deployEphemeral: 5000,
  deployCurtin: 12_000,
  deployReboot: 5000,
  deployCloudInit: 5000,
  release: 4000,
  eraseQuick: 6000,
  eraseFull: 60_000,
  nodeTimeout: 30 * 60_000,
  releaseTimeout: 5 * 60_000,
};

const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
const SERIES: Record<string, string> = { '20.04': 'focal', '22.04': 'jammy', '24.04': 'noble', '18.04': 'bionic' };
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function eventTime(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan.', 'Feb.', 'Mar.', 'Apr.', 'May', 'Jun.', 'Jul.', 'Aug.', 'Sep.', 'Oct.', 'Nov.', 'Dec.'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

export function parseStatus(s: string | number | undefined): number {
  if (s === undefined) return S.NEW;
  if (typeof s === 'number') return s;
  const i = STATUS_KEY.indexOf(s.toLowerCase().replace(/[\s-]/g, '_'));
  if (i < 0) throw new Error(`Unknown MAAS status "${s}"`);
  return i;
}

const conflict = (text: string) => MaasReply.text(409, text);

export class MaasWorld {
  readonly user = 'admin';
  #machines = new Map<string, EmuMachine>();
  #byMac = new Map<string, EmuMachine>();
  #events: EmuEvent[] = [];
  #tags = new Map<string, Tag>();
  #nextId = 1;
  #nextEvent = 1;
  #timeFactor: number;
  #faults: FaultConfig = {};
  #dice: () => number = seededRandom(1);
  #closed = false;

  constructor(opts: { timeFactor?: number; faults?: FaultConfig } = {}) {
    this.#timeFactor = opts.timeFactor ?? 1;
    this.setFaults(opts.faults ?? {});
  }

  get faults(): FaultConfig {
    return this.#faults;
  }

  /** Fault dice in [0,1), seeded by `faults.seed`. */
  roll(): number {
    return this.#dice();
  }

  setFaults(f: FaultConfig): void {
    this.#faults = structuredClone(f);
    this.#dice = seededRandom(f.seed ?? 1);
    const errs = new Set(f.powerStateError ?? []);
    for (const m of this.#machines.values()) {
      const want: EmuPower | undefined = errs.has(m.hostname) || errs.has(m.systemId) ? 'error' : undefined;
      if (m.powerOverride !== want) {
        if (want) m.powerOverride = want;
        else delete m.powerOverride;
        this.#touch(m);
      }
    }
  }

  get size(): number {
    return this.#machines.size;
  }

  all(): EmuMachine[] {
    return [...this.#machines.values()];
  }

  get(systemId: string): EmuMachine | undefined {
    return this.#machines.get(systemId);
  }

  byMac(mac: string): EmuMachine | undefined {
    return this.#byMac.get(mac.toLowerCase());
  }

  close(): void {
    this.#closed = true;
    for (const m of this.#machines.values()) this.#cancel(m);
  }

  // -------------------------------------------------------------------------------------------
  // Machines

  #systemId(): string {
    const alphabet = 'abcdefghkmnpqrstwxy34678';
    for (;;) {
      let n = Math.floor(this.#dice() * 2 ** 30) ^ (this.#nextId * 2654435761);
      let s = '';
      for (let i = 0; i < 6; i++) {
        s += alphabet[Math.abs(n) % alphabet.length];
        n = Math.floor(Math.abs(n) / alphabet.length) + i * 7919;
      }
      if (!this.#machines.has(s)) return s;
    }
  }

  add(seed: SeedMachine): EmuMachine {
    const macs = seed.macs.map((x) => x.toLowerCase());
    for (const mac of macs) {
      if (this.#byMac.has(mac)) throw new Error(`MAC "${mac}" is already used by machine "${this.#byMac.get(mac)?.hostname}"`);
    }
    const status = parseStatus(seed.status);
    const id = this.#nextId++;
    const owned = status === S.DEPLOYED || status === S.DEPLOYING || status === S.ALLOCATED || status === S.FAILED_DEPLOYMENT;
    const m: EmuMachine = {
      id,
      systemId: seed.systemId ?? this.#systemId(),
      hostname: seed.hostname,
      arch: seed.architecture ?? 'amd64/generic',
      macs,
      status,
      power: seed.power ?? (status === S.DEPLOYED ? 'on' : 'off'),
      powerType: seed.powerType ?? 'ipmi',
      powerParams: { ...(seed.powerParameters ?? {}) },
      owner: seed.owner !== undefined ? seed.owner : owned ? this.user : null,
      annotations: { ...(seed.annotations ?? {}) },
      osystem: seed.osystem ?? (status === S.DEPLOYED ? 'ubuntu' : ''),
      distroSeries: seed.distroSeries ?? (status === S.DEPLOYED ? 'jammy' : ''),
      hweKernel: status === S.DEPLOYED ? 'ga-22.04' : null,
      statusMessage: '',
      statusAction: '',
      errorDescription: seed.errorDescription ?? '',
      description: '',
      userData: null,
      locked: false,
      tags: [...(seed.tags ?? [])],
      ip: `10.20.${Math.floor(id / 250) % 250}.${(id % 250) + 2}`,
      netboot: status !== S.DEPLOYED,
      cpuCount: 4,
      memory: 8192,
      zone: seed.zone ?? 'default',
      pool: seed.pool ?? 'default',
      gen: 0,
      timers: new Set(),
      powerCycles: 0,
      commissioned: status !== S.NEW && status !== S.COMMISSIONING && status !== S.FAILED_COMMISSIONING,
    };
    if ((this.#faults.powerStateError ?? []).some((x) => x === m.hostname || x === m.systemId)) m.powerOverride = 'error';
    this.#machines.set(m.systemId, m);
    for (const mac of macs) this.#byMac.set(mac, m);
    return m;
  }

  #remove(m: EmuMachine): void {
    this.#cancel(m);
    this.#machines.delete(m.systemId);
    for (const mac of m.macs) if (this.#byMac.get(mac) === m) this.#byMac.delete(mac);
  }

  json(m: EmuMachine): string {
    return machineJson(m);
  }

  render(m: EmuMachine, extra?: Record<string, unknown>): Record<string, unknown> {
    return renderMachine(m, extra);
  }

  #touch(m: EmuMachine): void {
    m.json = undefined;
  }

  #cancel(m: EmuMachine): void {
    m.gen++;
    for (const t of m.timers) clearTimeout(t);
    m.timers.clear();
  }

  /** Runs `fn` after `ms` (scaled by timeFactor) unless the machine's work was cancelled meanwhile. */
  #after(m: EmuMachine, ms: number, fn: () => void): void {
    const gen = m.gen;
    const t = setTimeout(() => {
      m.timers.delete(t);
      if (this.#closed || m.gen !== gen || !this.#machines.has(m.systemId)) return;
      fn();
    }, ms * this.#timeFactor);
    t.unref?.();
    m.timers.add(t);
  }

  /** Runs steps one after another (each `ms` after the previous). */
  #steps(m: EmuMachine, steps: [number, () => void][]): void {
    let acc = 0;
    for (const [ms, fn] of steps) {
      acc += ms;
      this.#after(m, acc, fn);
    }
  }

  #setStatus(m: EmuMachine, to: number): void {
    if (!canTransition(m.status, to)) {
      throw new Error(`Emulator bug: illegal transition ${STATUS_NAME[m.status]} -> ${STATUS_NAME[to]}`);
    }
    if (m.status !== to) {
      this.event(m, 'Node changed status', `From '${STATUS_NAME[m.status]}' to '${STATUS_NAME[to]}'`, 'DEBUG');
      m.status = to;
    }
    this.#touch(m);
  }

  #fail(m: EmuMachine, description: string): void {
    const to = FAILURE_OF[m.status];
    if (to === undefined) return;
    this.#cancel(m);
    this.#setStatus(m, to);
    m.errorDescription = description;
    m.power = 'off';
    this.event(m, STATUS_NAME[to] ?? 'Failed', description, 'ERROR');
  }

  /** MAAS's monitor: a machine still in a monitored state after the timeout fails. */
  #monitor(m: EmuMachine, state: number, label: string, ms: number): void {
    const base = this.#faults.nodeTimeoutMs;
    const scaled = base !== undefined ? base / this.#timeFactor : ms;
    this.#after(m, scaled, () => {
      if (m.status === state) this.#fail(m, `Node operation '${label}' timed out after ${Math.round(ms / 60_000)} minutes.`);
    });
  }

  #setPower(m: EmuMachine, p: EmuPower, event?: string): void {
    m.power = p;
    if (event) this.event(m, event, '');
    this.#touch(m);
  }

  event(m: EmuMachine, type: string, description: string, level: EmuEvent['level'] = 'INFO'): void {
    const now = new Date();
    this.#events.push({
      id: this.#nextEvent++,
      node: m.systemId,
      hostname: m.hostname,
      username: m.owner ?? 'unknown',
      level,
      created: eventTime(now),
      type,
      description,
      at: now.getTime(),
    });
    if (level !== 'DEBUG') {
      m.statusMessage = description ? `${type} - ${description}` : type;
      this.#touch(m);
    }
    if (this.#events.length > 200_000) this.#events.splice(0, 100_000);
  }

  #listed(list: readonly string[] | undefined, m: EmuMachine): boolean {
    return (list ?? []).some((x) => x === m.hostname || x === m.systemId);
  }

  // -------------------------------------------------------------------------------------------
  // API operations

  list(q: URLSearchParams): EmuMachine[] {
    const any = (k: string) => q.getAll(k);
    const hostnames = any('hostname');
    const macs = any('mac_address').map((x) => x.toLowerCase());
    const ids = [...any('id'), ...any('system_id')];
    const statuses = any('status').map((s) => STATUS_KEY.indexOf(s.toLowerCase()));
    const notStatuses = any('not_status').map((s) => STATUS_KEY.indexOf(s.toLowerCase()));
    const power = any('power_state');
    const owners = any('owner');
    const arches = any('arch');
    const tags = any('tags');
    const notTags = any('not_tags');
    const zones = any('zone');
    const pools = any('pool');
    let candidates: EmuMachine[];
    if (macs.length > 0) {
      candidates = [...new Set(macs.map((mac) => this.#byMac.get(mac)).filter((m): m is EmuMachine => m !== undefined))];
      candidates.sort((a, b) => a.id - b.id);
    } else {
      candidates = [...this.#machines.values()];
    }
    return candidates.filter(
      (m) =>
        (hostnames.length === 0 || hostnames.includes(m.hostname) || hostnames.includes(`${m.hostname}.maas`)) &&
        (ids.length === 0 || ids.includes(m.systemId)) &&
        (statuses.length === 0 || statuses.includes(m.status)) &&
        !notStatuses.includes(m.status) &&
        (power.length === 0 || power.includes(m.powerOverride ?? m.power)) &&
        (owners.length === 0 || owners.includes(m.owner ?? '')) &&
        (arches.length === 0 || arches.some((a) => m.arch === a || m.arch.startsWith(`${a}/`))) &&
        tags.every((t) => m.tags.includes(t)) &&
        !notTags.some((t) => m.tags.includes(t)) &&
        (zones.length === 0 || zones.includes(m.zone)) &&
        (pools.length === 0 || pools.includes(m.pool)),
    );
  }

  create(p: URLSearchParams): EmuMachine {
    const errors: Record<string, string[]> = {};
    const arch = p.get('architecture');
    if (!arch) errors['architecture'] = ['This field is required.'];
    const macs = p.getAll('mac_addresses').map((x) => x.trim().toLowerCase());
    if (macs.length === 0) errors['mac_addresses'] = ['This field is required.'];
    for (const mac of macs) {
      if (!MAC_RE.test(mac)) errors['mac_addresses'] = [`One or more MAC addresses is invalid. ('${mac}' is not a valid MAC address.)`];
      else if (this.#byMac.has(mac)) {
        errors['mac_addresses'] = [`One or more MAC addresses is invalid. ('Mac address ${mac} already in use on ${this.#byMac.get(mac)?.hostname}.')`];
      }
    }
    let hostname = p.get('hostname') ?? '';
    if (hostname.includes('.')) {
      const domain = hostname.slice(hostname.indexOf('.') + 1);
      if (domain === 'maas') hostname = hostname.slice(0, hostname.indexOf('.'));
      else errors['hostname'] = [`Nonexistent domain '${domain}': MAAS knows only 'maas'`];
    }
    if (hostname && this.all().some((m) => m.hostname === hostname)) errors['hostname'] = [`Node with hostname "${hostname}" already exists`];
    if (Object.keys(errors).length > 0) throw new MaasReply(400, errors);
    if (!hostname) hostname = `machine-${this.#nextId}`;
    const params: Record<string, string> = {};
    for (const [k, v] of p) if (k.startsWith('power_parameters_')) params[k.slice('power_parameters_'.length)] = v;
    const archFull = arch!.includes('/') ? arch! : `${arch}/${p.get('subarchitecture') ?? 'generic'}`;
    const m = this.add({
      hostname,
      macs,
      architecture: archFull,
      powerType: p.get('power_type') || 'manual',
      powerParameters: params,
      zone: p.get('zone') || 'default',
      pool: p.get('pool') || 'default',
    });
    const d = p.get('description');
    if (d) m.description = d;
    this.event(m, 'Node enlisted', 'by admin');
    // An admin-created machine is commissioned straight away (`commission=false` keeps it New, as newer MAAS allows).
    if (p.get('commission') !== 'false') this.#startCommissioning(m);
    return m;
  }

  update(m: EmuMachine, p: URLSearchParams): EmuMachine {
    const h = p.get('hostname');
    if (h) m.hostname = h;
    const d = p.get('description');
    if (d !== null) m.description = d;
    const t = p.get('power_type');
    if (t) m.powerType = t;
    const a = p.get('architecture');
    if (a) m.arch = a;
    const z = p.get('zone');
    if (z) m.zone = z;
    const pool = p.get('pool');
    if (pool) m.pool = pool;
    for (const [k, v] of p) if (k.startsWith('power_parameters_')) m.powerParams[k.slice('power_parameters_'.length)] = v;
    this.#touch(m);
    return m;
  }

  delete(m: EmuMachine): void {
    this.#remove(m);
  }

  allocate(p: URLSearchParams): EmuMachine {
    const sid = p.get('system_id');
    const name = p.get('name');
    const ready = this.all().filter(
      (m) => m.status === S.READY && (!sid || m.systemId === sid) && (!name || m.hostname === name || `${m.hostname}.maas` === name),
    );
    const m = ready[0];
    if (!m) throw conflict(sid ? `No machine with system ID ${sid} available.` : name ? `No available machine matches constraints: name=${name}` : 'No machine available.');
    this.#allocate(m);
    return m;
  }

  #allocate(m: EmuMachine): void {
    this.#setStatus(m, S.ALLOCATED);
    m.owner = this.user;
    this.event(m, 'Node allocated', `to ${this.user}`, 'DEBUG');
    this.#touch(m);
  }

  commission(m: EmuMachine): EmuMachine {
    if (m.status === S.COMMISSIONING) return m;
    if (!canTransition(m.status, S.COMMISSIONING)) {
      throw conflict(`Can't commission a machine that is in the '${STATUS_NAME[m.status]}' state`);
    }
    this.#startCommissioning(m);
    return m;
  }

  #startCommissioning(m: EmuMachine): void {
    this.#cancel(m);
    this.#setStatus(m, S.COMMISSIONING);
    m.errorDescription = '';
    this.event(m, 'Commissioning', 'Starting commissioning');
    const fails = this.#listed(this.#faults.failCommission, m) || this.roll() < (this.#faults.commissionFailRate ?? 0);
    this.#steps(m, [
      [D.power, () => this.#setPower(m, 'on', 'Node powered on')],
      [D.commissionBoot, () => this.event(m, 'PXE Request', 'commissioning')],
      [
        D.commissionRun,
        () => {
          if (fails) {
            this.#fail(m, 'Commissioning failed, cloud-init reported a failure (refer to the event log for more information)');
            return;
          }
          this.#cancel(m);
          this.#setStatus(m, S.READY);
          m.commissioned = true;
          m.power = 'off';
          this.event(m, 'Ready', '');
        },
      ],
    ]);
    this.#monitor(m, S.COMMISSIONING, 'Commissioning', D.nodeTimeout);
  }

  deploy(m: EmuMachine, p: URLSearchParams): EmuMachine {
    if (m.status === S.READY) this.#allocate(m);
    if (!(m.status === S.ALLOCATED || m.status === S.FAILED_DEPLOYMENT) || !m.owner) {
      throw conflict(`Can't deploy a machine that is in the '${STATUS_NAME[m.status]}' state`);
    }
    const ud = p.get('user_data');
    let userData: string | null = null;
    if (ud !== null && ud !== '') {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(ud.replace(/\s/g, ''))) throw new MaasReply(400, { user_data: ['Invalid base64 data.'] });
      userData = Buffer.from(ud, 'base64').toString('utf8');
    }
    const ds = p.get('distro_series') || 'jammy';
    const [os, series] = ds.includes('/') ? (ds.split('/', 2) as [string, string]) : ['ubuntu', SERIES[ds] ?? ds];
    this.#cancel(m);
    m.userData = userData;
    m.osystem = os;
    m.distroSeries = series;
    m.hweKernel = p.get('hwe_kernel') || 'ga-22.04';
    m.errorDescription = '';
    m.netboot = true;
    this.#setStatus(m, S.DEPLOYING);
    this.event(m, 'Deploying', p.get('comment') ?? '');
    const stuck = this.#listed(this.#faults.stuckDeploy, m);
    const fails = this.#listed(this.#faults.failDeploy, m) || this.roll() < (this.#faults.deployFailRate ?? 0);
    const steps: [number, () => void][] = [
      [D.power, () => this.#setPower(m, 'on', 'Node powered on')],
      [D.deployPxe, () => this.event(m, 'PXE Request', 'installation')],
      [D.deployEphemeral, () => this.event(m, 'Loading ephemeral', '')],
    ];
    if (!stuck) {
      steps.push(
        [
          D.deployCurtin,
          () => {
            if (fails) {
              this.#fail(m, this.#faults.deployErrorDescription ?? 'Installation failed (refer to the installation log for more information).');
              return;
            }
            this.event(m, 'Installation complete', 'Node installation - curtin');
          },
        ],
        [D.deployReboot, () => this.event(m, 'Rebooting', '')],
        [
          D.deployCloudInit,
          () => {
            this.#cancel(m);
            this.#setStatus(m, S.DEPLOYED);
            m.netboot = false;
            m.power = 'on';
            this.event(m, 'Deployed', '');
            m.statusAction = 'modules-final';
            m.statusMessage = "'cloudinit' running modules for final";
            this.#touch(m);
          },
        ],
      );
    }
    this.#steps(m, steps);
    this.#monitor(m, S.DEPLOYING, 'Deploying', D.nodeTimeout);
    return m;
  }

  release(m: EmuMachine, p: URLSearchParams): EmuMachine {
    if (m.status === S.READY || m.status === S.RELEASING) return m;
    if (!RELEASABLE.includes(m.status)) throw conflict(`Machine cannot be released in its current state ('${STATUS_NAME[m.status]}').`);
    const truthy = (k: string) => ['true', '1', 'on', 'yes'].includes((p.get(k) ?? '').toLowerCase());
    const erase = truthy('erase');
    const quick = truthy('quick_erase') || truthy('secure_erase');
    this.#cancel(m);
    this.#setStatus(m, S.RELEASING);
    m.owner = null;
    m.annotations = {};
    m.statusAction = '';
    this.event(m, 'Releasing', p.get('comment') ?? '');
    const done = () => {
      this.#cancel(m);
      this.#setStatus(m, S.READY);
      m.osystem = '';
      m.distroSeries = '';
      m.hweKernel = null;
      m.netboot = true;
      m.userData = null;
      this.event(m, 'Released', '');
    };
    if (erase) {
      this.#steps(m, [
        [D.power, () => this.#setPower(m, 'off', 'Node powered off')],
        [
          D.release,
          () => {
            this.#setStatus(m, S.DISK_ERASING);
            this.event(m, 'Disk erasing', quick ? 'quick erase' : 'full erase');
            this.#steps(m, [[quick ? D.eraseQuick : D.eraseFull, done]]);
            this.#monitor(m, S.DISK_ERASING, 'Disk erasing', D.nodeTimeout);
          },
        ],
      ]);
    } else {
      this.#steps(m, [
        [D.power, () => this.#setPower(m, 'off', 'Node powered off')],
        [D.release, done],
      ]);
    }
    this.#monitor(m, S.RELEASING, 'Releasing', D.releaseTimeout);
    return m;
  }

  abort(m: EmuMachine): EmuMachine {
    const back: Record<number, number> = { [S.COMMISSIONING]: S.NEW, [S.DEPLOYING]: S.ALLOCATED, [S.DISK_ERASING]: S.FAILED_DISK_ERASING, [S.TESTING]: S.READY };
    const to = back[m.status];
    if (to === undefined) throw conflict(`Cannot abort in current state: '${STATUS_NAME[m.status]}'`);
    this.#cancel(m);
    this.#setStatus(m, to === S.NEW && m.commissioned ? S.READY : to);
    m.power = 'off';
    this.event(m, 'Aborted', '');
    return m;
  }

  markBroken(m: EmuMachine, p: URLSearchParams): EmuMachine {
    if (!canTransition(m.status, S.BROKEN)) throw conflict(`Unable to mark machine broken in its current state ('${STATUS_NAME[m.status]}').`);
    this.#cancel(m);
    this.#setStatus(m, S.BROKEN);
    m.errorDescription = p.get('comment') ?? p.get('error_description') ?? '';
    this.event(m, 'Marked broken', m.errorDescription, 'WARNING');
    return m;
  }

  markFixed(m: EmuMachine): EmuMachine {
    if (m.status !== S.BROKEN) throw conflict(`Can't mark a machine fixed that is in the '${STATUS_NAME[m.status]}' state`);
    this.#setStatus(m, S.READY);
    m.errorDescription = '';
    this.event(m, 'Marked fixed', '');
    return m;
  }

  powerOn(m: EmuMachine): EmuMachine {
    if (!m.owner) throw conflict("Can't start node: it hasn't been allocated.");
    if (m.power === 'on') {
      if (m.powerType === 'ipmi') {
        // ipmipower --cycle --on-if-off: a running machine is power cycled.
        m.powerCycles++;
        this.#setPower(m, 'off', 'Node power cycled');
        this.#after(m, D.power, () => this.#setPower(m, 'on', 'Node powered on'));
      }
      return m;
    }
    this.event(m, 'Powering on', '');
    this.#after(m, D.power, () => this.#setPower(m, 'on', 'Node powered on'));
    return m;
  }

  powerOff(m: EmuMachine, p: URLSearchParams): EmuMachine {
    const mode = p.get('stop_mode') ?? 'hard';
    if (mode !== 'hard' && mode !== 'soft') throw new MaasReply(400, { stop_mode: [`Select a valid choice. ${mode} is not one of the available choices.`] });
    this.event(m, 'Powering off', mode);
    this.#after(m, mode === 'soft' ? D.power * 2 : D.power, () => this.#setPower(m, 'off', 'Node powered off'));
    return m;
  }

  setAnnotations(m: EmuMachine, p: URLSearchParams): EmuMachine {
    if (!m.owner) throw conflict('Cannot set workload annotations on a machine that is not allocated.');
    for (const [k, v] of p) {
      if (k === 'op') continue;
      if (v === '') delete m.annotations[k];
      else m.annotations[k] = v;
    }
    this.#touch(m);
    return m;
  }

  powerState(m: EmuMachine): EmuPower {
    return m.powerOverride ?? m.power;
  }

  // -------------------------------------------------------------------------------------------
  // Events

  queryEvents(q: URLSearchParams): { count: number; events: Omit<EmuEvent, 'at'>[]; next_uri: string; prev_uri: string } {
    const hostnames = q.getAll('hostname');
    const ids = q.getAll('id');
    const macs = q.getAll('mac_address').map((x) => x.toLowerCase());
    const macIds = macs.map((mac) => this.#byMac.get(mac)?.systemId).filter((x): x is string => x !== undefined);
    const levelName = (q.get('level') ?? 'INFO').toUpperCase() as EmuEvent['level'];
    const minLevel = Math.max(0, LEVELS.indexOf(levelName));
    const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 100) || 100));
    const before = q.get('before');
    const after = q.get('after');
    const match = (e: EmuEvent) =>
      LEVELS.indexOf(e.level) >= minLevel &&
      (hostnames.length === 0 || hostnames.includes(e.hostname)) &&
      (ids.length === 0 || ids.includes(e.node)) &&
      (macs.length === 0 || macIds.includes(e.node));
    let picked: EmuEvent[] = [];
    if (after !== null) {
      const a = Number(after);
      for (const e of this.#events) {
        if (e.id > a && match(e)) {
          picked.push(e);
          if (picked.length >= limit) break;
        }
      }
    } else {
      const b = before !== null ? Number(before) : Number.POSITIVE_INFINITY;
      for (let i = this.#events.length - 1; i >= 0 && picked.length < limit; i--) {
        const e = this.#events[i]!;
        if (e.id < b && match(e)) picked.push(e);
      }
    }
    picked = picked.sort((x, y) => y.id - x.id);
    const base = new URLSearchParams(q);
    base.set('op', 'query');
    base.set('limit', String(limit));
    base.delete('before');
    base.delete('after');
    const next = new URLSearchParams(base);
    next.set('after', String(picked[0]?.id ?? after ?? 0));
    const prev = new URLSearchParams(base);
    prev.set('before', String(picked[picked.length - 1]?.id ?? before ?? 0));
    return {
      count: picked.length,
      events: picked.map(({ at: _at, ...e }) => e),
      next_uri: `/MAAS/api/2.0/events/?${next}`,
      prev_uri: `/MAAS/api/2.0/events/?${prev}`,
    };
  }

  eventsOf(systemId: string): EmuEvent[] {
    return this.#events.filter((e) => e.node === systemId);
  }

  // -------------------------------------------------------------------------------------------
  // Tags

  tags(): Tag[] {
    return [...this.#tags.values()];
  }

  tag(name: string): Tag | undefined {
    return this.#tags.get(name);
  }

  createTag(p: URLSearchParams): Tag {
    const name = p.get('name') ?? '';
    if (!/^[\w-]+$/.test(name)) throw new MaasReply(400, { name: ['Invalid character in the tag name.'] });
    if (this.#tags.has(name)) throw new MaasReply(400, { name: ['Tag with this Name already exists.'] });
    const t: Tag = { name, comment: p.get('comment') ?? '', definition: p.get('definition') ?? '', kernel_opts: p.get('kernel_opts') };
    this.#tags.set(name, t);
    return t;
  }

  deleteTag(t: Tag): void {
    this.#tags.delete(t.name);
    for (const m of this.#machines.values()) {
      if (m.tags.includes(t.name)) {
        m.tags = m.tags.filter((x) => x !== t.name);
        this.#touch(m);
      }
    }
  }

  updateTagNodes(t: Tag, p: URLSearchParams): { added: number; removed: number } {
    let added = 0;
    let removed = 0;
    for (const id of p.getAll('add')) {
      const m = this.#machines.get(id);
      if (m && !m.tags.includes(t.name)) {
        m.tags.push(t.name);
        this.#touch(m);
        added++;
      }
    }
    for (const id of p.getAll('remove')) {
      const m = this.#machines.get(id);
      if (m?.tags.includes(t.name)) {
        m.tags = m.tags.filter((x) => x !== t.name);
        this.#touch(m);
        removed++;
      }
    }
    return { added, removed };
  }
}
