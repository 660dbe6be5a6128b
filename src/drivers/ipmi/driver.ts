/**
 * The IPMI `PowerDriver`: power and boot device of hosts with `bmc.driver: ipmi`, over native RMCP+ sessions.
 *
 * - Credentials come only from `bmc.credentialsRef` through the injected SecretResolver (user name from
 *   `bmc.username`, default `admin`); they never appear in errors.
 * - Act, then verify: every change is followed by Get Chassis Status (or Get System Boot Options) polls until the
 *   target shows or the deadline passes (`verify-failed`).
 * - Power on only a machine the BMC reports off; `set('on')` on a machine that is on does nothing.
 * - Operations on one BMC are serialized, and state-changing operations on one BMC are spaced by `spacingMs`.
 * - Sessions are cached per BMC and user, kept alive with Get Device ID every `keepaliveMs`, closed by `close()`.
 */
import {
  type Bmc,
  type BootOpts,
  type CallOptions,
  GoughError,
  type PowerDriver,
  type PowerOp,
  type PowerState,
  type SecretRef,
  type SecretResolver,
  isGoughError,
  sleep,
} from '../../model/index.js';
import {
  type BootFlags,
  type ChassisStatus,
  type DeviceId,
  chassisControl,
  getBootFlags,
  getChassisStatus,
  getDeviceId,
  setBootDevice,
} from './commands.js';
import type { CipherSuiteId } from './crypto.js';
import { CipherSuiteRejected, IPMI_PORT, IpmiCompletionError, IpmiSession, type Privilege } from './session.js';

export const DEFAULT_IPMI_USERNAME = 'admin';

export type IpmiDriverOptions = {
  /** Minimum time between two state-changing operations (set, bootDevice) on one BMC. Default 1000 ms. */
  spacingMs?: number;
  /** How long to poll for the effect of an action before `verify-failed`. Default 30 s (soft: 120 s). */
  verifyDeadlineMs?: number;
  softDeadlineMs?: number;
  /** Interval between verification polls. Default 500 ms. */
  pollIntervalMs?: number;
  /** Per-attempt request timeout and retransmits. Defaults 1000 ms and 3. */
  timeoutMs?: number;
  retries?: number;
  /** Get Device ID on cached idle sessions this often. Default 30 s. */
  keepaliveMs?: number;
  /** Close cached sessions unused for this long. Default 5 min. */
  idleCloseMs?: number;
  /**
   * Cipher suite when `bmc.cipher` is not set. Default 3 (every RMCP+ BMC has it). `auto` tries suite 17 (SHA-256)
   * first and suite 3 when the BMC refuses 17 (a BMC that ignores the proposal costs one timeout per attempt); the
   * suite that worked is remembered per BMC.
   */
  cipher?: CipherSuiteId | 'auto';
  /** Privilege to request. Default administrator (falls back to operator). */
  privilege?: Privilege;
  /** BMC key (K_g) reference, for BMCs that have one set. */
  kgRef?: SecretRef;
  /** A pino-compatible logger (debug: logins, actions, re-logins). Never given a secret. */
  logger?: IpmiLogger;
};

export type IpmiLogger = {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
};

/** `used` is when a caller last used the session (keepalives do not count). */
type Cached = { session: IpmiSession; key: string; used: number };

const UNSUPPORTED = new Set([0xc1, 0xcc, 0xd5, 0xd6]);

export class IpmiPowerDriver implements PowerDriver {
  readonly kind = 'ipmi';
  #resolve: SecretResolver;
  #o: Required<Omit<IpmiDriverOptions, 'kgRef' | 'logger'>> & { kgRef?: SecretRef };
  #log: IpmiLogger | undefined;
  #sessions = new Map<string, Cached>();
  #opening = new Map<string, Promise<IpmiSession>>();
  #locks = new Map<string, Promise<unknown>>();
  #lastChange = new Map<string, number>();
  #learnedCipher = new Map<string, CipherSuiteId>();
  #keepalive: NodeJS.Timeout | undefined;

  constructor(resolveSecret: SecretResolver, opts: IpmiDriverOptions = {}) {
    this.#resolve = resolveSecret;
    this.#log = opts.logger;
    this.#o = {
      spacingMs: opts.spacingMs ?? 1000,
      verifyDeadlineMs: opts.verifyDeadlineMs ?? 30_000,
      softDeadlineMs: opts.softDeadlineMs ?? 120_000,
      pollIntervalMs: opts.pollIntervalMs ?? 500,
      timeoutMs: opts.timeoutMs ?? 1000,
      retries: opts.retries ?? 3,
      keepaliveMs: opts.keepaliveMs ?? 30_000,
      idleCloseMs: opts.idleCloseMs ?? 300_000,
      cipher: opts.cipher ?? 3,
      privilege: opts.privilege ?? 4,
      ...(opts.kgRef ? { kgRef: opts.kgRef } : {}),
    };
  }

  /** Power as the BMC reports it (`on` or `off`); rejects with a classified GoughError when the BMC cannot say. */
  async status(bmc: Bmc, opts: CallOptions = {}): Promise<PowerState> {
    return (await this.chassisStatus(bmc, opts)).power;
  }

  async chassisStatus(bmc: Bmc, opts: CallOptions = {}): Promise<ChassisStatus> {
    return this.#locked(bmc, () => this.#withSession(bmc, opts, (s) => getChassisStatus(s, { signal: opts.signal })));
  }

  async deviceId(bmc: Bmc, opts: CallOptions = {}): Promise<DeviceId> {
    return this.#locked(bmc, () => this.#withSession(bmc, opts, (s) => getDeviceId(s, { signal: opts.signal })));
  }

  async bootFlags(bmc: Bmc, opts: CallOptions = {}): Promise<BootFlags> {
    return this.#locked(bmc, () => this.#withSession(bmc, opts, (s) => getBootFlags(s, { signal: opts.signal })));
  }

  /**
   * Resolves when the BMC shows the op's effect: `on`/`cycle`/`reset` → on, `off`/`soft` → off. `on` and `off` (and
   * `soft`) do nothing when the state already holds; `cycle` and `reset` of a machine that is off power it on.
   * `cycle` on a BMC without power cycle (pyghmi) is done as off, verify off, on.
   */
  async set(bmc: Bmc, op: PowerOp, opts: CallOptions = {}): Promise<void> {
    await this.#locked(bmc, async () => {
      await this.#space(bmc, opts.signal);
      const signal = opts.signal;
      try {
        await this.#withSession(bmc, opts, async (s) => {
          const now = (await getChassisStatus(s, { signal })).power;
          const target = op === 'off' || op === 'soft' ? 'off' : 'on';
          if (op === 'on' || op === 'off' || op === 'soft') {
            if (now === target) return;
          }
          const command = now === 'off' ? 'on' : op;
          this.#log?.debug({ bmc: describeBmc(bmc), op, was: now, command }, 'IPMI chassis control');
          try {
            await chassisControl(s, command, { signal });
          } catch (e) {
            if (command !== 'cycle' || !unsupported(e)) throw e;
            await chassisControl(s, 'off', { signal });
            await this.#verifyPower(s, bmc, 'off', this.#o.verifyDeadlineMs, signal);
            await chassisControl(s, 'on', { signal });
          }
          await this.#verifyPower(s, bmc, target, op === 'soft' ? this.#o.softDeadlineMs : this.#o.verifyDeadlineMs, signal);
        });
      } finally {
        this.#lastChange.set(bmcKey(bmc), Date.now());
      }
    });
  }

  /** Sets the next boot device (or every boot with `persistent`), then reads it back. */
  async bootDevice(bmc: Bmc, dev: 'pxe' | 'disk', boot: BootOpts, opts: CallOptions = {}): Promise<void> {
    await this.#locked(bmc, async () => {
      await this.#space(bmc, opts.signal);
      const signal = opts.signal;
      try {
        await this.#withSession(bmc, opts, async (s) => {
          await setBootDevice(s, dev, { persistent: boot.persistent, efi: boot.efi }, { signal });
          const deadline = Date.now() + this.#o.verifyDeadlineMs;
          for (;;) {
            // the valid bit is not checked: some BMCs (ipmi_sim) always read it back clear
            const flags = await getBootFlags(s, { signal });
            if (flags.device === dev) return;
            if (Date.now() + this.#o.pollIntervalMs > deadline) {
              throw new GoughError('verify-failed', `BMC "${describeBmc(bmc)}" reports boot device "${flags.device}" after setting "${dev}"`, {
                retry: { kind: 'backoff' },
              });
            }
            await sleep(this.#o.pollIntervalMs, signal);
          }
        });
      } finally {
        this.#lastChange.set(bmcKey(bmc), Date.now());
      }
    });
  }

  /** Closes every cached session (Close Session to each BMC) and stops keepalives. */
  async close(): Promise<void> {
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((c) => c.session.close()));
  }

  /** Number of cached sessions (for tests and metrics). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  async #verifyPower(s: IpmiSession, bmc: Bmc, target: 'on' | 'off', deadlineMs: number, signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const p = (await getChassisStatus(s, { signal })).power;
      if (p === target) return;
      if (Date.now() + this.#o.pollIntervalMs > deadline) {
        throw new GoughError('verify-failed', `BMC "${describeBmc(bmc)}" still reports power "${p}" ${deadlineMs} ms after asking for "${target}"`, {
          retry: { kind: 'backoff' },
        });
      }
      await sleep(this.#o.pollIntervalMs, signal);
    }
  }

  async #space(bmc: Bmc, signal: AbortSignal | undefined): Promise<void> {
    const last = this.#lastChange.get(bmcKey(bmc));
    if (last === undefined) return;
    const wait = last + this.#o.spacingMs - Date.now();
    if (wait > 0) await sleep(wait, signal);
  }

  /** Serializes operations per BMC. */
  #locked<T>(bmc: Bmc, fn: () => Promise<T>): Promise<T> {
    const key = bmcKey(bmc);
    const prev = this.#locks.get(key) ?? Promise.resolve();
    const p = prev.then(fn, fn);
    const tail = p.catch(() => undefined);
    this.#locks.set(key, tail);
    void tail.then(() => {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    });
    return p;
  }

  async #withSession<T>(bmc: Bmc, opts: CallOptions, fn: (s: IpmiSession) => Promise<T>): Promise<T> {
    const key = sessionKey(bmc, this.#o.cipher);
    const cached = this.#sessions.get(key);
    if (cached && !cached.session.closed) {
      cached.used = Date.now();
      try {
        return await fn(cached.session);
      } catch (e) {
        // a cached session can go stale (BMC restarted, session timed out): log in again once
        if (!isGoughError(e) || e.code !== 'unreachable') throw e;
        this.#log?.warn({ bmc: describeBmc(bmc), error: e.message }, 'IPMI cached session stopped answering; logging in again');
        this.#sessions.delete(key);
        await cached.session.close();
      }
    }
    const session = await this.#open(bmc, key, opts);
    return fn(session);
  }

  #open(bmc: Bmc, key: string, opts: CallOptions): Promise<IpmiSession> {
    const pending = this.#opening.get(key);
    if (pending) return pending;
    const p = (async () => {
      if (!bmc.credentialsRef) {
        throw new GoughError('secret-missing', `BMC "${describeBmc(bmc)}" has no credentialsRef`, { retry: { kind: 'never' } });
      }
      const password = await this.#resolve(bmc.credentialsRef);
      const kg = this.#o.kgRef ? await this.#resolve(this.#o.kgRef) : undefined;
      const wanted = bmc.cipher ?? this.#o.cipher;
      const learned = this.#learnedCipher.get(bmcKey(bmc));
      const suites: CipherSuiteId[] = wanted !== 'auto' ? [wanted] : learned ? [learned] : [17, 3];
      let session: IpmiSession | undefined;
      for (const cipher of suites) {
        try {
          session = await IpmiSession.open({
            host: bmc.address,
            port: bmc.port ?? IPMI_PORT,
            username: bmc.username ?? DEFAULT_IPMI_USERNAME,
            password,
            ...(kg !== undefined ? { kg } : {}),
            cipher,
            privilege: this.#o.privilege,
            timeoutMs: this.#o.timeoutMs,
            retries: this.#o.retries,
            ...(opts.signal ? { signal: opts.signal } : {}),
          });
          if (wanted === 'auto') this.#learnedCipher.set(bmcKey(bmc), cipher);
          this.#log?.debug({ bmc: describeBmc(bmc), cipher, privilege: session.privilege }, 'IPMI session opened');
          break;
        } catch (e) {
          if ((e instanceof CipherSuiteRejected || (isGoughError(e) && e.code === 'unreachable')) && cipher !== suites.at(-1)) continue;
          throw scrub(e, [password, ...(kg ? [kg] : [])]);
        }
      }
      if (!session) throw new GoughError('internal', 'No cipher suite to try');
      this.#sessions.set(key, { session, key, used: Date.now() });
      this.#startKeepalive();
      return session;
    })();
    this.#opening.set(key, p);
    const clear = () => this.#opening.delete(key);
    p.then(clear, clear);
    return p;
  }

  #startKeepalive(): void {
    if (this.#keepalive) return;
    const every = Math.max(1000, Math.min(this.#o.keepaliveMs, this.#o.idleCloseMs));
    this.#keepalive = setInterval(() => void this.#tick(), every);
    this.#keepalive.unref();
  }

  async #tick(): Promise<void> {
    for (const [key, c] of [...this.#sessions]) {
      if (c.session.closed) {
        this.#sessions.delete(key);
      } else if (Date.now() - c.used >= this.#o.idleCloseMs) {
        this.#sessions.delete(key);
        await c.session.close();
      } else if (c.session.idleMs >= this.#o.keepaliveMs - 100) {
        try {
          await getDeviceId(c.session, { retries: 1 });
        } catch {
          this.#sessions.delete(key);
          await c.session.close();
        }
      }
    }
    if (this.#sessions.size === 0) {
      clearInterval(this.#keepalive);
      this.#keepalive = undefined;
    }
  }
}

function unsupported(e: unknown): boolean {
  return e instanceof IpmiCompletionError && e.code === 'ipmi-completion' && UNSUPPORTED.has(e.completionCode);
}

function bmcKey(bmc: Bmc): string {
  return `${bmc.address}:${bmc.port ?? IPMI_PORT}`;
}

function sessionKey(bmc: Bmc, cipher: CipherSuiteId | 'auto'): string {
  return `${bmcKey(bmc)}|${bmc.username ?? DEFAULT_IPMI_USERNAME}|${bmc.cipher ?? cipher}`;
}

export function describeBmc(bmc: Bmc): string {
  const a = bmc.address.includes(':') ? `[${bmc.address}]` : bmc.address;
  return `${a}:${bmc.port ?? IPMI_PORT}`;
}

function scrub(e: unknown, secrets: string[]): unknown {
  if (!isGoughError(e)) return e;
  let msg = e.message;
  for (const s of secrets) if (s.length > 0) msg = msg.split(s).join('***');
  if (msg === e.message) return e;
  return new GoughError(e.code, msg, { retry: e.retry });
}

