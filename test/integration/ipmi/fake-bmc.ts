/**
 * A small RMCP+ BMC built from Gough's own codec and crypto, for what no real peer here offers: cipher suite 17
 * (ipmi_sim and pyghmi only do suite 3), a BMC that refuses ADMINISTRATOR (privilege fallback), and a busy BMC.
 * It checks every client message as strictly as a BMC should (RAKP 3 auth code, packet AuthCode, sequence numbers).
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import {
  AUTH_TYPE_NONE,
  type CipherSuite,
  PAYLOAD,
  type RakpContext,
  type SessionKeys,
  cipherSuite,
  decodeIpmiPacket,
  decodeIpmiRequest,
  decodeSetupPayload,
  deriveSessionKeys,
  encodeChannelAuthCapabilities,
  encodeChassisStatus,
  encodeIpmi15Packet,
  encodeIpmiResponse,
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  encodeRmcpPlusPacket,
  openPacket,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4IntegrityCheck,
  sameBytes,
  sealPacket,
} from '../../../src/drivers/ipmi/index.js';

export type FakeBmcOptions = {
  suite: 3 | 17;
  users: Record<string, string>;
  kg?: string;
  /** Highest privilege granted; RAKP 2 answers status 0x09 (invalid role) above it. */
  maxPrivilege?: number;
  /** Where a privilege above maxPrivilege is refused: RAKP 2 (default) or Set Session Privilege Level (cc 0x81). */
  refuseAt?: 'rakp' | 'set-privilege';
  /** Completion code for Chassis Control (0 = success). */
  controlCompletion?: number;
  /** Lose the first RAKP 4 on the way back (the client retransmits RAKP 3 for a session the BMC already made). */
  dropFirstRakp4?: boolean;
  /** Answer Chassis Control with success but change nothing (a BMC that lies). */
  ignoreControl?: boolean;
};

type Pending = { ctx: Partial<RakpContext> & { consoleSessionId: number; managedSessionId: number }; privilege: number };
type Live = { suite: CipherSuite; keys: SessionKeys; consoleSessionId: number; lastSeq: number; privilege: number };

export class FakeBmc {
  readonly log: string[] = [];
  power: 'on' | 'off' = 'off';
  #sock: Socket;
  #o: FakeBmcOptions;
  #suite: CipherSuite;
  #pending = new Map<number, Pending>();
  #live = new Map<number, Live>();
  #guid = randomBytes(16);

  private constructor(sock: Socket, o: FakeBmcOptions) {
    this.#sock = sock;
    this.#o = o;
    this.#suite = cipherSuite(o.suite);
    sock.on('message', (m, r) => {
      try {
        this.#handle(m, r);
      } catch (e) {
        this.log.push(`drop: ${(e as Error).message}`);
      }
    });
  }

  static async start(o: FakeBmcOptions): Promise<FakeBmc> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return new FakeBmc(sock, o);
  }

  get port(): number {
    return this.#sock.address().port;
  }

  get sessions(): number {
    return this.#live.size;
  }

  close(): Promise<void> {
    return new Promise((r) => this.#sock.close(() => r()));
  }

  #send(b: Buffer, r: RemoteInfo): void {
    this.#sock.send(b, r.port, r.address);
  }

  #handle(m: Buffer, r: RemoteInfo): void {
    const p = decodeIpmiPacket(m);
    if (p.format === 'ipmi15') {
      const req = decodeIpmiRequest(p.message);
      if (req.command !== 0x38) return;
      const caps = encodeChannelAuthCapabilities({
        channel: 1,
        authTypes: 0x15,
        ipmi20: true,
        kgSet: this.#o.kg !== undefined,
        perMessageAuthDisabled: false,
        userLevelAuthDisabled: false,
        nonNullUsers: true,
        nullUsers: false,
        anonymousLogin: false,
        supportsV20: true,
        supportsV15: true,
        oemId: 0,
        oemAux: 0,
      });
      const msg = encodeIpmiResponse({ netFn: req.netFn + 1, command: 0x38, sequence: req.sequence, completionCode: 0, data: caps });
      this.#send(encodeIpmi15Packet({ authType: AUTH_TYPE_NONE, sessionSequence: 0, sessionId: 0, message: msg }), r);
      return;
    }
    const setup = (type: number, payload: Buffer) =>
      encodeRmcpPlusPacket({ payloadType: type, encrypted: false, authenticated: false, sessionId: 0, sessionSequence: 0, payload });
    if (p.payloadType === PAYLOAD.openSessionRequest) {
      const { value: q } = decodeSetupPayload(p.payloadType, p.payload) as { value: import('../../../src/drivers/ipmi/index.js').OpenSessionRequest };
      const al = this.#suite.algorithms;
      if (q.algorithms.auth !== al.auth || q.algorithms.integrity !== al.integrity || q.algorithms.confidentiality !== al.confidentiality) {
        this.#send(setup(PAYLOAD.openSessionResponse, encodeOpenSessionResponse({ tag: q.tag, status: 0x11, consoleSessionId: q.consoleSessionId })), r);
        return;
      }
      const managedSessionId = randomBytes(4).readUInt32LE(0) || 1;
      this.#pending.set(managedSessionId, { ctx: { consoleSessionId: q.consoleSessionId, managedSessionId }, privilege: q.privilege });
      this.log.push(`open privilege=${q.privilege}`);
      this.#send(
        setup(
          PAYLOAD.openSessionResponse,
          encodeOpenSessionResponse({ tag: q.tag, status: 0, privilege: q.privilege, consoleSessionId: q.consoleSessionId, managedSessionId, algorithms: al }),
        ),
        r,
      );
      return;
    }
    if (p.payloadType === PAYLOAD.rakp1) {
      const d = decodeSetupPayload(p.payloadType, p.payload);
      if (d.type !== 'rakp1') return;
      const q = d.value;
      const pend = this.#pending.get(q.managedSessionId);
      if (!pend) return;
      const user = Buffer.from(q.username).toString();
      const fail = (status: number) =>
        this.#send(setup(PAYLOAD.rakp2, encodeRakp2({ tag: q.tag, status, consoleSessionId: pend.ctx.consoleSessionId })), r);
      this.log.push(`rakp1 user=${user} role=${q.role}`);
      if (!(user in this.#o.users)) {
        fail(0x0d);
        return;
      }
      if ((q.role & 0x0f) > (this.#o.maxPrivilege ?? 4) && this.#o.refuseAt !== 'set-privilege') {
        fail(0x09);
        return;
      }
      const ctx: RakpContext = { ...pend.ctx, consoleRandom: q.consoleRandom, managedRandom: randomBytes(16), managedGuid: this.#guid, role: q.role, username: q.username };
      pend.ctx = ctx;
      pend.privilege = q.role & 0x0f;
      const authCode = rakp2AuthCode(this.#suite, Buffer.from(this.#o.users[user]!), ctx);
      this.#send(
        setup(PAYLOAD.rakp2, encodeRakp2({ tag: q.tag, status: 0, consoleSessionId: ctx.consoleSessionId, managedRandom: ctx.managedRandom, managedGuid: ctx.managedGuid, authCode })),
        r,
      );
      return;
    }
    if (p.payloadType === PAYLOAD.rakp3) {
      const d = decodeSetupPayload(p.payloadType, p.payload);
      if (d.type !== 'rakp3') return;
      const q = d.value;
      const pend = this.#pending.get(q.managedSessionId);
      if (!pend?.ctx.username) {
        // unknown (or already established) session: status 0x02, invalid session ID
        this.log.push('rakp3 for unknown session');
        this.#send(setup(PAYLOAD.rakp4, encodeRakp4({ tag: q.tag, status: 0x02, consoleSessionId: 0, integrityCheck: Buffer.alloc(0) })), r);
        return;
      }
      const ctx = pend.ctx as RakpContext;
      const kuid = Buffer.from(this.#o.users[Buffer.from(ctx.username).toString()]!);
      if (!sameBytes(rakp3AuthCode(this.#suite, kuid, ctx), q.authCode)) {
        this.#send(setup(PAYLOAD.rakp4, encodeRakp4({ tag: q.tag, status: 0x0f, consoleSessionId: ctx.consoleSessionId, integrityCheck: Buffer.alloc(0) })), r);
        return;
      }
      const keys = deriveSessionKeys(this.#suite, this.#o.kg ? Buffer.from(this.#o.kg) : kuid, ctx);
      this.#pending.delete(q.managedSessionId);
      this.#live.set(q.managedSessionId, { suite: this.#suite, keys, consoleSessionId: ctx.consoleSessionId, lastSeq: 0, privilege: 2 });
      const icv = rakp4IntegrityCheck(this.#suite, keys.sik, ctx);
      if (this.#o.dropFirstRakp4) {
        this.#o.dropFirstRakp4 = false;
        return;
      }
      this.#send(setup(PAYLOAD.rakp4, encodeRakp4({ tag: q.tag, status: 0, consoleSessionId: ctx.consoleSessionId, integrityCheck: icv })), r);
      return;
    }
    if (p.payloadType === PAYLOAD.ipmi) {
      const live = this.#live.get(p.sessionId);
      if (!live) return;
      const opened = openPacket(live.suite, live.keys, m);
      if (!opened.encrypted) throw new Error('unencrypted request in an encrypted session');
      if (opened.sessionSequence <= live.lastSeq) throw new Error(`sequence ${opened.sessionSequence} replayed`);
      live.lastSeq = opened.sessionSequence;
      const req = decodeIpmiRequest(opened.payload);
      let cc = 0;
      let data: Uint8Array = new Uint8Array(0);
      const key = `${req.netFn}/${req.command}`;
      this.log.push(`cmd ${key} ${Buffer.from(req.data).toString('hex')}`);
      if (key === '6/59') {
        // Set Session Privilege Level
        const want = req.data[0]!;
        if (want > (this.#o.maxPrivilege ?? 4)) cc = 0x81;
        else {
          live.privilege = want;
          data = Uint8Array.of(want);
        }
      } else if (key === '6/60') {
        this.#live.delete(p.sessionId);
      } else if (key === '6/1') {
        data = Uint8Array.of(0x20, 0x01, 0x01, 0x02, 0x02, 0x80, 0x57, 0x01, 0x00, 0x34, 0x12);
      } else if (key === '0/1') {
        data = encodeChassisStatus({
          power: this.power,
          powerOverload: false,
          interlock: false,
          powerFault: false,
          powerControlFault: false,
          restorePolicy: 'previous',
          lastPowerEvent: { acFailed: false, overload: false, interlock: false, fault: false, commandOn: this.power === 'on' },
          intrusion: false,
          frontPanelLockout: false,
          driveFault: false,
          fanFault: false,
        });
      } else if (key === '0/2') {
        if (live.privilege < 3) cc = 0xd4;
        else if (this.#o.controlCompletion) cc = this.#o.controlCompletion;
        else if (!this.#o.ignoreControl) this.power = req.data[0] === 0 || req.data[0] === 5 ? 'off' : 'on';
      } else cc = 0xc1;
      const msg = encodeIpmiResponse({ netFn: req.netFn + 1, command: req.command, sequence: req.sequence, completionCode: cc, data });
      this.#send(
        sealPacket(live.suite, live.keys, {
          payloadType: PAYLOAD.ipmi,
          sessionId: live.consoleSessionId,
          sessionSequence: live.lastSeq,
          payload: msg,
          encrypt: true,
          iv: randomBytes(16),
        }),
        r,
      );
    }
  }
}
