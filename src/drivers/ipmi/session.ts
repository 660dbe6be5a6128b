/**
 * An IPMI v2.0 RMCP+ session with one BMC: login (Get Channel Authentication Capabilities, Open Session,
 * RAKP 1–4, Set Session Privilege Level), authenticated and encrypted requests with sequence numbers,
 * per-request timeouts with retransmits, and Close Session. One UDP socket per session, so a slow or silent
 * BMC never holds up another.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { GoughError, type GoughErrorOptions } from '../../model/index.js';
import {
  AUTH_TYPE_NONE,
  NETFN,
  PAYLOAD,
  type PrivilegeLevel,
  completionCodeName,
  decodeChannelAuthCapabilities,
  decodeIpmiPacket,
  decodeIpmiResponse,
  decodeOpenSessionResponse,
  decodeRakp2,
  decodeRakp4,
  encodeChannelAuthCapRequestData,
  encodeIpmi15Packet,
  encodeIpmiRequest,
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  encodeRmcpPlusPacket,
  type IpmiResponse,
  rmcpStatusName,
} from './codec.js';
import {
  type CipherSuite,
  type CipherSuiteId,
  type RakpContext,
  type SessionKeys,
  cipherSuite,
  deriveSessionKeys,
  openPacket,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4IntegrityCheck,
  sameBytes,
  sealPacket,
} from './crypto.js';
import { UdpTransport } from './transport.js';

export const IPMI_PORT = 623;

/** Session privilege: 2 user, 3 operator, 4 administrator. */
export type Privilege = 2 | 3 | 4;

export type SessionOptions = {
  host: string;
  port?: number;
  username: string;
  password: string;
  /** BMC key K_g (bytes, or text as configured on the BMC); K_uid (the password) when absent. */
  kg?: Uint8Array | string;
  cipher?: CipherSuiteId;
  /** Privilege to ask for; default administrator (4), falling back to operator (3) when refused. */
  privilege?: Privilege;
  /** Per-attempt timeout in ms (default 1000). */
  timeoutMs?: number;
  /** Retransmits after the first attempt (default 3). */
  retries?: number;
  signal?: AbortSignal;
};

export type RequestOptions = { signal?: AbortSignal | undefined; timeoutMs?: number; retries?: number };

const PASSWORD_MAX = 20;

function toKey(v: Uint8Array | string, what: string): Buffer {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
  if (b.length > PASSWORD_MAX) throw new GoughError('usage', `IPMI ${what} is longer than ${PASSWORD_MAX} bytes`);
  return b;
}

/** Statuses after which pyghmi retries RAKP at operator level (RAKP 2 status 9 / 0x0D; privilege cc 0x80/0x81). */
const RAKP_PRIV_FALLBACK = new Set([0x09, 0x0d]);
const SET_PRIV_FALLBACK = new Set([0x80, 0x81]);

type Established = {
  suite: CipherSuite;
  keys: SessionKeys;
  consoleSessionId: number;
  managedSessionId: number;
  privilege: number;
};

export class IpmiSession {
  readonly target: string;
  #transport: UdpTransport;
  #state: Established;
  #timeoutMs: number;
  #retries: number;
  #sessionSequence = 1;
  #requestSequence = 1;
  /** Highest session sequence number seen from the BMC; older packets are replays and dropped. */
  #inboundSequence = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #lastUsed = Date.now();
  #closed = false;

  private constructor(transport: UdpTransport, state: Established, timeoutMs: number, retries: number) {
    this.target = transport.target;
    this.#transport = transport;
    this.#state = state;
    this.#timeoutMs = timeoutMs;
    this.#retries = retries;
  }

  /** Logs in; rejects with 'unreachable', 'auth-failed', 'permission-denied', 'busy' or 'bad-response'. */
  static async open(opts: SessionOptions): Promise<IpmiSession> {
    const suite = cipherSuite(opts.cipher ?? 3);
    const timeoutMs = opts.timeoutMs ?? 1000;
    const retries = opts.retries ?? 3;
    const username = toKey(opts.username, 'user name');
    if (username.length > 16) throw new GoughError('usage', 'IPMI user name is longer than 16 bytes');
    const kuid = toKey(opts.password, 'password');
    const kg = opts.kg === undefined || (typeof opts.kg !== 'string' && opts.kg.length === 0) ? kuid : toKey(opts.kg, 'BMC key');
    const transport = await UdpTransport.connect(opts.host, opts.port ?? IPMI_PORT);
    const x = { timeoutMs, retries, signal: opts.signal };
    try {
      await getChannelAuthCapabilities(transport, opts.privilege ?? 4, x);
      let privilege: Privilege = opts.privilege ?? 4;
      for (let attempt = 0; ; attempt++) {
        let session: IpmiSession | undefined;
        try {
          const state = await login(transport, { suite, username, kuid, kg, privilege, userLabel: opts.username }, x);
          session = new IpmiSession(transport, state, timeoutMs, retries);
          await session.#setPrivilege(privilege, opts.signal);
          return session;
        } catch (e) {
          if (session) await session.#endSession(undefined);
          if (e instanceof PrivilegeFallback && privilege === 4) {
            privilege = 3;
            continue;
          }
          if (e instanceof PrivilegeFallback) throw e.final;
          // a retransmitted RAKP message can invalidate a half-open session: start over (twice at most)
          if (e instanceof StaleSetup && attempt < 2) continue;
          throw e;
        }
      }
    } catch (e) {
      transport.close();
      throw e;
    }
  }

  get privilege(): number {
    return this.#state.privilege;
  }

  get closed(): boolean {
    return this.#closed || this.#transport.closed;
  }

  /** Milliseconds since the last request finished. */
  get idleMs(): number {
    return Date.now() - this.#lastUsed;
  }

  /**
   * Sends one IPMI request inside the session and resolves with the BMC's response, whatever its completion code
   * (see `expectOk`). Requests on one session are serialized.
   */
  request(netFn: number, command: number, data: Uint8Array = new Uint8Array(0), opts: RequestOptions = {}): Promise<IpmiResponse> {
    const run = () => this.#request(netFn, command, data, opts);
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #request(netFn: number, command: number, data: Uint8Array, opts: RequestOptions): Promise<IpmiResponse> {
    if (this.closed) throw new GoughError('internal', `Session to BMC "${this.target}" is closed`);
    const rqSeq = this.#requestSequence;
    this.#requestSequence = (this.#requestSequence + 1) & 0x3f;
    const message = encodeIpmiRequest({ netFn, command, data, sequence: rqSeq });
    const st = this.#state;
    try {
      return await this.#transport.exchange(
        () => {
          const seq = this.#sessionSequence;
          this.#sessionSequence = this.#sessionSequence >= 0xffffffff ? 1 : this.#sessionSequence + 1;
          return sealPacket(st.suite, st.keys, {
            payloadType: PAYLOAD.ipmi,
            sessionId: st.managedSessionId,
            sessionSequence: seq,
            payload: message,
            encrypt: true,
            iv: randomBytes(16),
          });
        },
        (datagram) => {
          const p = openPacket(st.suite, st.keys, datagram);
          if (p.sessionId !== st.consoleSessionId || p.payloadType !== PAYLOAD.ipmi) return undefined;
          // sequence 0 is not valid inside a session; a BMC that repeats numbers gets a window of 8 (as the spec allows)
          if (p.sessionSequence === 0 || p.sessionSequence + 8 <= this.#inboundSequence) return undefined;
          const r = decodeIpmiResponse(p.payload);
          if (r.netFn !== netFn + 1 || r.command !== command || r.sequence !== rqSeq) return undefined;
          this.#inboundSequence = Math.max(this.#inboundSequence, p.sessionSequence);
          return r;
        },
        { timeoutMs: opts.timeoutMs ?? this.#timeoutMs, retries: opts.retries ?? this.#retries, signal: opts.signal },
      );
    } finally {
      this.#lastUsed = Date.now();
    }
  }

  async #setPrivilege(privilege: Privilege, signal: AbortSignal | undefined): Promise<void> {
    const r = await this.request(NETFN.app, 0x3b, Uint8Array.of(privilege), { signal });
    if (r.completionCode === 0) {
      this.#state.privilege = r.data[0] !== undefined ? r.data[0] & 0x0f : privilege;
      return;
    }
    const denied = new GoughError(
      'permission-denied',
      `BMC "${this.target}" refused privilege level ${privilegeName(privilege)}: ${completionCodeName(r.completionCode)}`,
      { retry: { kind: 'never' } },
    );
    if (SET_PRIV_FALLBACK.has(r.completionCode) || r.completionCode === 0xd4) throw new PrivilegeFallback(denied);
    throw classifyCompletion(this.target, 'Set Session Privilege Level', r.completionCode);
  }

  /** Close Session (one attempt, short timeout), then releases the socket. Never rejects. */
  async close(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closed) return;
    await this.#endSession(opts.signal);
    this.#transport.close();
  }

  async #endSession(signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) return;
    const id = Buffer.alloc(4);
    id.writeUInt32LE(this.#state.managedSessionId >>> 0, 0);
    try {
      await this.request(NETFN.app, 0x3c, id, { timeoutMs: Math.min(this.#timeoutMs, 500), retries: 0, signal });
    } catch {
      // the BMC forgets idle sessions on its own
    } finally {
      this.#closed = true;
    }
  }
}

/** RMCP+ status 0x02/0x08 during setup: the half-open session is gone (e.g. after a retransmit); log in again. */
class StaleSetup extends GoughError {
  constructor(message: string) {
    super('bad-response', message, { retry: { kind: 'backoff' } });
  }
}

/** The BMC refused the proposed cipher suite (Open Session / RAKP status 0x04, 0x05, 0x10 or 0x11). */
export class CipherSuiteRejected extends GoughError {
  constructor(message: string) {
    super('bad-response', message, { retry: { kind: 'never' } });
  }
}

class PrivilegeFallback extends Error {
  constructor(readonly final: GoughError) {
    super(final.message);
  }
}

export function privilegeName(p: number): string {
  return ({ 1: 'CALLBACK', 2: 'USER', 3: 'OPERATOR', 4: 'ADMINISTRATOR', 5: 'OEM' } as Record<number, string>)[p] ?? String(p);
}

/** A non-zero completion code, classified: `busy` (retry after), `permission-denied`, or `ipmi-completion`. */
export class IpmiCompletionError extends GoughError {
  constructor(
    code: 'busy' | 'permission-denied' | 'ipmi-completion',
    message: string,
    readonly completionCode: number,
    opts: GoughErrorOptions,
  ) {
    super(code, message, opts);
  }
}

/** Maps a non-zero completion code to a GoughError with the right retry class. */
export function classifyCompletion(target: string, what: string, cc: number): IpmiCompletionError {
  const hex = `0x${cc.toString(16).padStart(2, '0')}`;
  const detail = `${what} failed: ${completionCodeName(cc)} (${hex})`;
  if (cc === 0xc0 || cc === 0xd2 || cc === 0xc3 || cc === 0xcf || cc === 0xce) {
    return new IpmiCompletionError('busy', `BMC "${target}" is busy: ${detail}`, cc, { retry: { kind: 'after', ms: 2000 } });
  }
  if (cc === 0xd4) {
    return new IpmiCompletionError('permission-denied', `BMC "${target}" denied the command: ${detail}`, cc, { retry: { kind: 'never' } });
  }
  return new IpmiCompletionError('ipmi-completion', `BMC "${target}" rejected the command: ${detail}`, cc, { retry: { kind: 'never' } });
}

type Exchange = { timeoutMs: number; retries: number; signal?: AbortSignal | undefined };

async function getChannelAuthCapabilities(t: UdpTransport, privilege: PrivilegeLevel, x: Exchange): Promise<void> {
  const sequence = randomInt(1, 0x40);
  const caps = await t.exchange(
    () =>
      encodeIpmi15Packet({
        authType: AUTH_TYPE_NONE,
        sessionSequence: 0,
        sessionId: 0,
        message: encodeIpmiRequest({ netFn: NETFN.app, command: 0x38, data: encodeChannelAuthCapRequestData(privilege), sequence }),
      }),
    (d) => {
      const p = decodeIpmiPacket(d);
      if (p.format !== 'ipmi15') return undefined;
      const r = decodeIpmiResponse(p.message);
      if (r.command !== 0x38 || r.sequence !== sequence) return undefined;
      if (r.completionCode !== 0) throw classifyCompletion(t.target, 'Get Channel Authentication Capabilities', r.completionCode);
      return decodeChannelAuthCapabilities(r.data);
    },
    x,
  );
  if (!caps.supportsV20) {
    throw new GoughError('bad-response', `BMC "${t.target}" does not offer IPMI v2.0 (RMCP+) on this channel`, { retry: { kind: 'never' } });
  }
}

type LoginInput = { suite: CipherSuite; username: Buffer; kuid: Buffer; kg: Buffer; privilege: Privilege; userLabel: string };

function rmcpFailure(target: string, step: string, status: number, privilege: Privilege, user: string): Error {
  const detail = `${step}: ${rmcpStatusName(status)} (0x${status.toString(16).padStart(2, '0')})`;
  if (status === 0x0d) {
    const e = new GoughError('auth-failed', `BMC "${target}" does not know user "${user}": ${detail}`, { retry: { kind: 'never' } });
    return privilege === 4 ? new PrivilegeFallback(e) : e;
  }
  if (status === 0x09 || status === 0x0a || status === 0x0b) {
    const e = new GoughError('permission-denied', `BMC "${target}" refused privilege level ${privilegeName(privilege)} for user "${user}": ${detail}`, {
      retry: { kind: 'never' },
    });
    return RAKP_PRIV_FALLBACK.has(status) || status === 0x0a ? new PrivilegeFallback(e) : e;
  }
  if (status === 0x01) return new GoughError('busy', `BMC "${target}" has no free session: ${detail}`, { retry: { kind: 'after', ms: 5000 } });
  if (status === 0x04 || status === 0x05 || status === 0x10 || status === 0x11) {
    return new CipherSuiteRejected(`BMC "${target}" does not support the cipher suite: ${detail}`);
  }
  if (status === 0x02 || status === 0x08) return new StaleSetup(`BMC "${target}" dropped the half-open session: ${detail}`);
  if (status === 0x0f) return new GoughError('auth-failed', `BMC "${target}" rejected the password: ${detail}`, { retry: { kind: 'never' } });
  return new GoughError('bad-response', `BMC "${target}" refused the session: ${detail}`, { retry: { kind: 'backoff' } });
}

/**
 * Some BMCs (pyghmi) never answer RAKP 1 for a user they do not know. The BMC did answer Open Session, so say so:
 * still `unreachable` (a lossy link looks the same), but the message names the likely cause.
 */
async function silentAfterOpen<T>(t: UdpTransport, user: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof GoughError) || e.code !== 'unreachable') throw e;
    throw new GoughError('unreachable', `BMC "${t.target}" answered Open Session but not RAKP 1: it may not know user "${user}"`, {
      retry: { kind: 'backoff' },
      cause: e,
    });
  }
}

async function login(t: UdpTransport, a: LoginInput, x: Exchange): Promise<Established> {
  const consoleSessionId = randomInt(1, 0xffffffff);
  const role = 0x10 | a.privilege; // name-only lookup
  let tag = randomInt(0, 0x100);
  const setup = (payloadType: number, payload: Buffer) =>
    encodeRmcpPlusPacket({ payloadType, encrypted: false, authenticated: false, sessionId: 0, sessionSequence: 0, payload });
  const setupReply = (d: Buffer, type: number): Uint8Array | undefined => {
    const p = decodeIpmiPacket(d);
    if (p.format !== 'rmcp+' || p.payloadType !== type) return undefined;
    return p.payload;
  };

  // Open Session
  const openTag = tag;
  const open = await t.exchange(
    () =>
      setup(
        PAYLOAD.openSessionRequest,
        encodeOpenSessionRequest({ tag: openTag, privilege: a.privilege, consoleSessionId, algorithms: a.suite.algorithms }),
      ),
    (d) => {
      const body = setupReply(d, PAYLOAD.openSessionResponse);
      if (!body) return undefined;
      const r = decodeOpenSessionResponse(body);
      if (r.tag !== openTag || r.consoleSessionId !== consoleSessionId) return undefined;
      if (r.status !== 0 || !('managedSessionId' in r)) throw rmcpFailure(t.target, 'Open Session', r.status, a.privilege, a.userLabel);
      const al = r.algorithms;
      const want = a.suite.algorithms;
      if (al.auth !== want.auth || al.integrity !== want.integrity || al.confidentiality !== want.confidentiality) {
        throw new CipherSuiteRejected(`BMC "${t.target}" answered Open Session with other algorithms than cipher suite ${a.suite.id}`);
      }
      return r;
    },
    x,
  );

  // RAKP 1 / 2
  tag = (tag + 1) & 0xff;
  const rakp1Tag = tag;
  const consoleRandom = randomBytes(16);
  const rakp2 = await silentAfterOpen(t, a.userLabel, () =>
    t.exchange(
      () =>
        setup(
          PAYLOAD.rakp1,
          encodeRakp1({ tag: rakp1Tag, managedSessionId: open.managedSessionId, consoleRandom, role, username: a.username }),
        ),
      (d) => {
        const body = setupReply(d, PAYLOAD.rakp2);
        if (!body) return undefined;
        const r = decodeRakp2(body);
        if (r.tag !== rakp1Tag) return undefined;
        if (r.status !== 0) throw rmcpFailure(t.target, 'RAKP 2', r.status, a.privilege, a.userLabel);
        if (r.consoleSessionId !== consoleSessionId) return undefined;
        return r;
      },
      x,
    ),
  );
  const ctx: RakpContext = {
    consoleSessionId,
    managedSessionId: open.managedSessionId,
    consoleRandom,
    managedRandom: rakp2.managedRandom!,
    managedGuid: rakp2.managedGuid!,
    role,
    username: a.username,
  };
  const expected = rakp2AuthCode(a.suite, a.kuid, ctx);
  if (!sameBytes(expected, (rakp2.authCode ?? new Uint8Array(0)).subarray(0, a.suite.rakpAuthLength))) {
    throw new GoughError('auth-failed', `BMC "${t.target}" rejected the password for user "${a.userLabel}"`, { retry: { kind: 'never' } });
  }
  const keys = deriveSessionKeys(a.suite, a.kg, ctx);

  // RAKP 3 / 4
  tag = (tag + 1) & 0xff;
  const rakp3Tag = tag;
  const rakp4 = await t.exchange(
    () =>
      setup(
        PAYLOAD.rakp3,
        encodeRakp3({ tag: rakp3Tag, status: 0, managedSessionId: open.managedSessionId, authCode: rakp3AuthCode(a.suite, a.kuid, ctx) }),
      ),
    (d) => {
      const body = setupReply(d, PAYLOAD.rakp4);
      if (!body) return undefined;
      const r = decodeRakp4(body);
      if (r.tag !== rakp3Tag) return undefined;
      if (r.status !== 0) throw rmcpFailure(t.target, 'RAKP 4', r.status, a.privilege, a.userLabel);
      if (r.consoleSessionId !== consoleSessionId) return undefined;
      return r;
    },
    x,
  );
  if (!sameBytes(rakp4IntegrityCheck(a.suite, keys.sik, ctx), rakp4.integrityCheck.subarray(0, a.suite.rakp4Length))) {
    throw new GoughError('auth-failed', `BMC "${t.target}" answered RAKP 4 with a wrong integrity check: the BMC key (K_g) does not match`, {
      retry: { kind: 'never' },
    });
  }
  return { suite: a.suite, keys, consoleSessionId, managedSessionId: open.managedSessionId, privilege: a.privilege };
}
