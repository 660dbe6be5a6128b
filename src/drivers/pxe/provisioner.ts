/**
 * The built-in PXE `Provisioner`. It shares the gate and the event log with `gough pxe serve` (same state
 * directory): `observe()` reads them (and power through the injected PowerDriver when a host has a BMC) and never
 * changes anything; `perform()` acts, then verifies from a fresh observation within a deadline, like the MAAS one.
 *
 * deploy / redeploy: arm the gate, set next boot to PXE and power on (off) or cycle (on) through the BMC, then
 *   wait for the install to report done (`/cloud-init/<mac>/done`). Without a BMC the machine must be booted by hand.
 * release: gate cleared (no installer, no local-disk record), next boot from disk, power off.
 */
import {
  type Action,
  type Bmc,
  type CallOptions,
  type DesiredHost,
  GoughError,
  type Lifecycle,
  type ObservedHost,
  type Outcome,
  type PowerDriver,
  type PowerState,
  type Provisioner,
  bootMacOf,
  sleep,
} from '../../model/index.js';
import type { EventLog } from './event-log.js';
import type { BootEvent } from './events.js';
import type { GateRecord, GateStore } from './gate.js';

export type PxeProvisionerOptions = {
  gate: GateStore;
  events: EventLog;
  powerDriver?: PowerDriver;
  now?: () => number;
  /** How often verification re-observes (default 1000 ms). */
  pollMs?: number;
  /** Deadline for an install to report done when the action gives none (default 30 min). */
  installDeadlineMs?: number;
  /** Deadline for power changes to show (default 60 s). */
  powerDeadlineMs?: number;
};

/** The host's BMC with the site's defaults (user name, credentials, cipher) filled in. */
export function bmcOf(target: DesiredHost): Bmc | undefined {
  const b = target.host.spec.hardware.bmc;
  if (b === undefined) return undefined;
  const d = target.site.spec.bmc;
  const out: Bmc = { ...b };
  if (out.username === undefined && d?.username !== undefined) out.username = d.username;
  if (out.credentialsRef === undefined && d?.credentialsRef !== undefined) out.credentialsRef = d.credentialsRef;
  if (out.cipher === undefined && d?.cipher !== undefined) out.cipher = d.cipher;
  return out;
}

/** Lifecycle from the gate: armed → deploying, provisioned → deployed, otherwise ready. */
export function lifecycleOf(record: GateRecord | undefined): Lifecycle {
  if (record?.armed !== undefined) return 'deploying';
  if (record?.provisioned !== undefined) return 'deployed';
  return 'ready';
}

export class PxeProvisioner implements Provisioner {
  readonly kind = 'pxe';
  readonly #o: PxeProvisionerOptions;

  constructor(o: PxeProvisionerOptions) {
    this.#o = o;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  async #power(target: DesiredHost, opts: CallOptions): Promise<{ power: PowerState; error?: string }> {
    const bmc = bmcOf(target);
    if (bmc === undefined || this.#o.powerDriver === undefined) return { power: 'unknown' };
    try {
      return { power: await this.#o.powerDriver.status(bmc, opts) };
    } catch (e) {
      return { power: 'error', error: e instanceof Error ? e.message : String(e) };
    }
  }

  async observe(hosts: readonly DesiredHost[], opts: CallOptions = {}): Promise<ObservedHost[]> {
    const [gate, events] = await Promise.all([this.#o.gate.read(), this.#o.events.read()]);
    const lastByHost = new Map<string, BootEvent>();
    for (const e of events) if (e.host !== undefined) lastByHost.set(e.host, e);
    const out = await Promise.all(
      hosts.map(async (d): Promise<ObservedHost> => {
        const name = d.host.metadata.name;
        const record = gate.hosts[name];
        const lifecycle = lifecycleOf(record);
        const p = await this.#power(d, opts);
        const last = lastByHost.get(name);
        const o: ObservedHost = {
          name,
          site: d.site.metadata.name,
          lifecycle,
          power: p.power,
          provider: {
            kind: 'pxe',
            id: bootMacOf(d.host) ?? name,
            status: last === undefined ? lifecycle : `${lifecycle} (last: ${last.kind} at ${last.at})`,
          },
          macs: d.host.spec.hardware.macs,
          errors: p.error === undefined ? [] : [p.error],
        };
        if (record?.provisioned !== undefined) {
          o.deployedSpecHash = record.provisioned.specHash;
          if (d.host.spec.os !== undefined) o.os = d.host.spec.os;
        }
        if (record?.armed !== undefined)
          o.provider.message = `installer armed for ${record.armed.kind} since ${record.armed.since}`;
        return o;
      }),
    );
    // Unknown machines booted into discovery are orphans (named by MAC).
    const known = new Set(hosts.flatMap((d) => d.host.spec.hardware.macs.map((m) => m.toLowerCase())));
    for (const m of Object.values(gate.discovered)) {
      if (known.has(m.mac)) continue;
      out.push({
        name: m.mac,
        lifecycle: 'new',
        power: 'unknown',
        provider: { kind: 'pxe', id: m.mac, status: `discovered (last seen ${m.lastSeen})` },
        macs: [m.mac],
        errors: [],
      });
    }
    return out;
  }

  async #observeOne(target: DesiredHost, opts: CallOptions): Promise<ObservedHost> {
    const [o] = await this.observe([target], opts);
    if (o === undefined) throw new GoughError('internal', `No observation of host "${target.host.metadata.name}"`);
    return o;
  }

  #requirePower(target: DesiredHost, what: string): { bmc: Bmc; driver: PowerDriver } {
    const bmc = bmcOf(target);
    if (bmc === undefined || this.#o.powerDriver === undefined) {
      throw new GoughError('conflict', `Cannot ${what} host "${target.host.metadata.name}": it has no BMC`);
    }
    return { bmc, driver: this.#o.powerDriver };
  }

  /** Polls observations until `done` holds or the deadline passes. */
  async #verify(
    target: DesiredHost,
    opts: CallOptions,
    deadlineMs: number,
    what: string,
    done: (o: ObservedHost) => boolean,
  ): Promise<ObservedHost> {
    const until = this.#now() + deadlineMs;
    for (;;) {
      const o = await this.#observeOne(target, opts);
      if (done(o)) return o;
      if (this.#now() >= until) {
        throw new GoughError(
          'verify-failed',
          `Host "${target.host.metadata.name}" did not ${what} within ${Math.round(deadlineMs / 1000)} s`,
          {
            retry: { kind: 'backoff' },
          },
        );
      }
      await sleep(Math.min(this.#o.pollMs ?? 1000, Math.max(1, until - this.#now())), opts.signal);
    }
  }

  async #setPower(
    target: DesiredHost,
    want: 'on' | 'off',
    opts: CallOptions,
    deadlineMs: number,
  ): Promise<ObservedHost> {
    const { bmc, driver } = this.#requirePower(target, `power ${want}`);
    const now = await driver.status(bmc, opts);
    if (now !== want) {
      if (want === 'on' && now !== 'off') {
        throw new GoughError(
          'conflict',
          `Cannot power on host "${target.host.metadata.name}": power state is "${now}", not off`,
          {
            retry: { kind: 'backoff' },
          },
        );
      }
      await driver.set(bmc, want, opts);
    }
    return this.#verify(target, opts, deadlineMs, `power ${want}`, (o) => o.power === want);
  }

  async perform(
    action: Action,
    target: DesiredHost,
    opts: CallOptions & { deadlineMs?: number } = {},
  ): Promise<Outcome> {
    const name = target.host.metadata.name;
    const powerDeadline = opts.deadlineMs ?? this.#o.powerDeadlineMs ?? 60_000;
    switch (action.kind) {
      case 'deploy':
      case 'redeploy': {
        const specHash = target.rendered.specHash;
        const record = (await this.#o.gate.read()).hosts[name];
        if (record?.armed === undefined && record?.provisioned?.specHash === specHash) {
          return {
            message: `Host "${name}" already runs specHash ${specHash}`,
            observed: await this.#observeOne(target, opts),
          };
        }
        const since = new Date(this.#now()).toISOString();
        await this.#o.gate.arm(name, { kind: action.kind, specHash, at: since, actionId: action.id });
        const bmc = bmcOf(target);
        if (bmc !== undefined && this.#o.powerDriver !== undefined) {
          const driver = this.#o.powerDriver;
          const power = await driver.status(bmc, opts);
          if (power !== 'on' && power !== 'off') {
            throw new GoughError('unreachable', `Cannot boot host "${name}": power state is "${power}"`, {
              retry: { kind: 'backoff' },
            });
          }
          // Boot flags expire after 60 s: set them right before the power action that needs them.
          await driver.bootDevice(bmc, 'pxe', { efi: target.host.spec.hardware.firmware === 'uefi' }, opts);
          await driver.set(bmc, power === 'off' ? 'on' : 'cycle', opts);
        }
        const observed = await this.#verify(
          target,
          opts,
          opts.deadlineMs ?? this.#o.installDeadlineMs ?? 30 * 60_000,
          'report its install complete',
          (o) => o.lifecycle === 'deployed' && o.deployedSpecHash === specHash,
        );
        return { message: `Host "${name}" installed specHash ${specHash}`, observed };
      }
      case 'release': {
        await this.#o.gate.clear(name);
        const bmc = bmcOf(target);
        if (bmc !== undefined && this.#o.powerDriver !== undefined) {
          await this.#o.powerDriver.bootDevice(bmc, 'disk', {}, opts);
          const observed = await this.#setPower(target, 'off', opts, powerDeadline);
          return { message: `Host "${name}" released and powered off`, observed };
        }
        return {
          message: `Host "${name}" released (no BMC: power unchanged)`,
          observed: await this.#observeOne(target, opts),
        };
      }
      case 'power-on':
      case 'power-off': {
        const want = action.kind === 'power-on' ? 'on' : 'off';
        const observed = await this.#setPower(target, want, opts, powerDeadline);
        return { message: `Host "${name}" is powered ${want}`, observed };
      }
      case 'power-cycle': {
        const { bmc, driver } = this.#requirePower(target, 'power cycle');
        await driver.set(bmc, 'cycle', opts);
        const observed = await this.#verify(
          target,
          opts,
          powerDeadline,
          'power on after the cycle',
          (o) => o.power === 'on',
        );
        return { message: `Host "${name}" was power cycled`, observed };
      }
      case 'set-boot': {
        const { bmc, driver } = this.#requirePower(target, 'set the boot device of');
        const record = (await this.#o.gate.read()).hosts[name];
        const dev = record?.armed !== undefined ? 'pxe' : 'disk';
        await driver.bootDevice(bmc, dev, { efi: target.host.spec.hardware.firmware === 'uefi' }, opts);
        return { message: `Host "${name}" boots from ${dev} next`, observed: await this.#observeOne(target, opts) };
      }
      case 'pxe-update':
      case 'register':
        // Scripts and seeds are rendered from the current revision on every request; hosts are known from the repo.
        return {
          message: `Host "${name}": nothing to do for ${action.kind} with the built-in PXE`,
          observed: await this.#observeOne(target, opts),
        };
      case 'commission':
        throw new GoughError(
          'conflict',
          `Cannot commission host "${name}": the built-in PXE provisioner does not commission`,
        );
    }
  }
}
