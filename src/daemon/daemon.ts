/**
 * One daemon's loop. Level-triggered: every pass resolves the branch, loads the revision (only blobs not parsed
 * before), observes, reconciles the journal's open entries, plans from scratch and dispatches what the plan allows;
 * actions outlive the pass. Triggers (watch, cron, poll, webhook, a finished action) only make a pass sooner;
 * passes never overlap. A revision that fails validation is never applied: the last good one stays in force and
 * the bad one is reported with its diagnostics.
 */
import { setImmediate } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type DispatchResult, Executor, type ExecutorEvent, type Journal } from '../apply/index.js';
import { parsePushEvent, verifySignature } from '../forge/index.js';
import { DiskParseCache, type GitSource, type GitStatusWriter, type Trigger, cronTrigger, pollTrigger, watchBranch } from '../git/index.js';
import type {
  Action,
  DesiredHost,
  DesiredState,
  Diagnostic,
  Host,
  InFlight,
  ObservedHost,
  ObserveOptions,
  Plan,
  PlanSummary,
  Provisioner,
  Site,
  StatusDoc,
} from '../model/index.js';
import { toGoughError } from '../model/index.js';
import { plan as computePlan } from '../plan/index.js';
import { type LastAction, computeStatusDocs, statusCommitMessage, statusFiles } from '../report/index.js';
import { LoadMemo, type LoadResult, MAX_FILE_BYTES, type ParseCache, type ParsedFile, hasErrors, loadRepo } from '../repo/index.js';
import type { DaemonConfig } from './config.js';
import type { DaemonEvent, DaemonSnapshot, DaemonView, HostView, PassInfo, WebhookResult } from './view.js';

export type DaemonDeps = {
  config: DaemonConfig;
  source: GitSource;
  journal: Journal;
  /** The provisioner of a site (the CLI passes `createProvisioner`). */
  provisioner(site: Site): Provisioner;
  /** Parse cache keyed by blob id (default: `<stateDir>/parse-cache.sqlite`). */
  cache?: ParseCache & { flush?(): void; close?(): void };
  statusWriter?(site: string): GitStatusWriter | undefined;
  webhookSecret?: string;
  logger: Logger;
  now?: () => Date;
};

export type PassResult = {
  pass: string;
  ok: boolean;
  error?: string;
  revision?: string;
  appliedRevision?: string;
  invalid?: boolean;
  plan?: PlanSummary;
  dispatched: DispatchResult | undefined;
};

const MAX_EVENTS = 200;
/** How long after a restart's first load the indexing load waits (passes first). */
const INDEX_DELAY_MS = 1000;

export class Daemon implements DaemonView {
  readonly config: DaemonConfig;
  readonly executor: Executor;
  #source: GitSource;
  #journal: Journal;
  #provisionerOf: (site: Site) => Provisioner;
  #provisioners = new Map<string, { key: string; p: Provisioner }>();
  #cache: (ParseCache & { flush?(): void; close?(): void }) | undefined;
  /** Between loads: the last result and each host's render (a one-file commit re-renders one host). */
  readonly #memo = new LoadMemo();
  #statusWriter: (site: string) => GitStatusWriter | undefined;
  #webhookSecret: string | undefined;
  #log: Logger;
  #now: () => Date;

  #listeners = new Set<(e: DaemonEvent) => void>();
  #events: DaemonEvent[] = [];
  #snapshot: DaemonSnapshot;
  #good: DesiredState | undefined;
  #loadedRevision: string | undefined;
  #statusDocs = new Map<string, Map<string, StatusDoc>>();
  /** Per site, the files last written to the status branch (a pass that would write the same ones writes nothing). */
  #writtenStatus = new Map<string, ReadonlyMap<string, string>>();
  /** Host views by their status document (documents are immutable and reused while a host's situation holds). */
  #views = new WeakMap<StatusDoc, HostView>();
  #statusChain: Promise<void> = Promise.resolve();
  #triggers: Trigger[] = [];
  #requested: string | undefined;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #passSeq = 0;
  #passLock: Promise<void> = Promise.resolve();
  /** An indexing load is scheduled or running (see #scheduleIndexing). */
  #indexing = false;
  #active = 0;
  /** Highest number of passes ever running at once (1: they never overlapped). */
  maxConcurrentPasses = 0;
  #recovered = false;

  constructor(deps: DaemonDeps) {
    this.config = deps.config;
    this.#source = deps.source;
    this.#journal = deps.journal;
    this.#provisionerOf = deps.provisioner;
    this.#cache = deps.cache;
    this.#statusWriter = deps.statusWriter ?? (() => undefined);
    this.#webhookSecret = deps.webhookSecret;
    this.#log = deps.logger.child({ component: 'daemon' });
    this.#now = deps.now ?? (() => new Date());
    const l = this.config.limits;
    this.executor = new Executor({
      journal: this.#journal,
      provisionerFor: (site) => this.#provisionerForName(site),
      limits: {
        maxProvisioningPerSite: l.maxProvisioningPerSite,
        maxAttempts: l.maxAttempts,
        backoff: { baseMs: l.backoffSeconds * 1000, maxMs: Math.max(l.backoffSeconds * 1000 * 64, 1000) },
        deadlineMs: { default: l.actionTimeoutSeconds * 1000 },
        rate: { default: { perSecond: l.ratePerSecond, burst: Math.max(1, Math.ceil(l.ratePerSecond)) } },
      },
      now: this.#now,
      siteCap: (site) => this.#good?.sites.find((s) => s.metadata.name === site)?.spec.limits?.maxProvisioning,
      onEvent: (e) => this.#onExecutorEvent(e),
      logger: this.#log,
    });
    this.#snapshot = { sites: [...this.config.sites], hosts: [], events: [] };
  }

  static defaultCache(stateDir: string): DiskParseCache<ParsedFile, LoadResult> {
    return new DiskParseCache<ParsedFile, LoadResult>(`${stateDir}/parse-cache.sqlite`, { version: 'repo-v1' });
  }

  // ------------------------------------------------------------------------------------------- DaemonView

  snapshot(): DaemonSnapshot {
    return { ...this.#snapshot, events: [...this.#events] };
  }

  subscribe(listener: (e: DaemonEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  requestPass(trigger: string): void {
    if (this.#stopping) return;
    this.#requested ??= trigger;
    if (!this.#loop) this.#loop = this.#runLoop();
  }

  async handleWebhook(headers: Record<string, string | undefined>, rawBody: Buffer): Promise<WebhookResult> {
    const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    if (this.#webhookSecret === undefined || !verifySignature(this.#webhookSecret, rawBody, h['x-hub-signature-256']))
      return { status: 401, body: JSON.stringify({ error: 'Bad or missing signature' }) };
    const event = h['x-github-event'];
    if (event === 'ping') return { status: 200, body: JSON.stringify({ ok: true }) };
    if (event !== 'push') return { status: 202, body: JSON.stringify({ ignored: `event "${event ?? ''}"` }) };
    let push: ReturnType<typeof parsePushEvent>;
    try {
      push = parsePushEvent(rawBody);
    } catch (e) {
      return { status: 400, body: JSON.stringify({ error: (e as Error).message }) };
    }
    // Only the desired branch makes a pass: status-branch pushes never do.
    if (push.ref !== `refs/heads/${this.config.repo.branch}` || push.deleted)
      return { status: 202, body: JSON.stringify({ ignored: push.ref }) };
    this.requestPass('webhook');
    return { status: 202, body: JSON.stringify({ pass: 'requested' }) };
  }

  // ------------------------------------------------------------------------------------------- lifecycle

  /** Starts the triggers and the first pass. */
  async start(): Promise<void> {
    const t = this.config.triggers;
    if (t.watch && !this.#source.isRemote)
      this.#triggers.push(await watchBranch(this.#source.gitdir, this.config.repo.branch, () => this.requestPass('watch')));
    if (t.pollSeconds > 0) this.#triggers.push(pollTrigger(t.pollSeconds * 1000, () => this.requestPass('poll')));
    if (t.cron) this.#triggers.push(await cronTrigger(t.cron, () => this.requestPass('cron')));
    this.requestPass('start');
  }

  /**
   * SIGTERM: stop triggers and dispatching, let in-flight actions finish for the grace period (then abort them;
   * their journal entries stay open and are reconciled at the next start), push status, close the journal.
   */
  async stop(graceMs = this.config.limits.shutdownGraceSeconds * 1000): Promise<void> {
    this.#stopping = true;
    this.#requested = undefined;
    await Promise.all(this.#triggers.splice(0).map((t) => t.close()));
    await this.#loop;
    await this.#passLock;
    await this.executor.shutdown(graceMs);
    await this.#statusChain;
    this.#cache?.flush?.();
    this.#journal.close();
    this.#cache?.close?.();
  }

  /** Resolves when no pass runs or is requested. */
  async settled(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  /** Waits for dispatched actions and pending status writes. */
  async drain(): Promise<void> {
    await this.executor.idle();
    await this.#statusChain;
  }

  async #runLoop(): Promise<void> {
    try {
      while (this.#requested !== undefined && !this.#stopping) {
        const trigger = this.#requested;
        this.#requested = undefined;
        await this.runPass(trigger);
      }
    } finally {
      this.#loop = undefined;
    }
  }

  // ------------------------------------------------------------------------------------------- the pass

  #emit(e: DaemonEvent): void {
    this.#events.unshift(e);
    if (this.#events.length > MAX_EVENTS) this.#events.length = MAX_EVENTS;
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'Event listener failed');
      }
    }
  }

  #iso(): string {
    return this.#now().toISOString();
  }

  #onExecutorEvent(e: ExecutorEvent): void {
    const base = { at: e.at, pass: e.pass, host: e.action.host, site: e.action.site, kind: e.action.kind, actionId: e.action.id };
    if (e.type === 'action-started') {
      this.#log.info({ pass: e.pass, host: e.action.host, kind: e.action.kind, attempt: e.attempt }, 'Action started');
      this.#emit({ type: 'action-started', ...base });
      return;
    }
    this.#log[e.outcome === 'failed' ? 'warn' : 'info'](
      { pass: e.pass, host: e.action.host, kind: e.action.kind, outcome: e.outcome, attempt: e.attempt, detail: e.message },
      'Action finished',
    );
    this.#emit({ type: 'action-finished', ...base, outcome: e.outcome, message: e.message });
    // A finished action may unlock the next step (commission → deploy): look again soon.
    if (e.outcome !== 'retrying') this.requestPass('action-finished');
  }

  #provisionerFor(site: Site): Provisioner {
    const key = JSON.stringify(site.spec);
    const hit = this.#provisioners.get(site.metadata.name);
    if (hit && hit.key === key) return hit.p;
    const p = this.#provisionerOf(site);
    this.#provisioners.set(site.metadata.name, { key, p });
    return p;
  }

  #provisionerForName(name: string): Provisioner {
    const site = this.#good?.sites.find((s) => s.metadata.name === name);
    const hit = this.#provisioners.get(name);
    if (site) return this.#provisionerFor(site);
    if (hit) return hit.p;
    throw toGoughError(new Error(`Site "${name}" is not in the desired state`), 'internal');
  }

  /** Loads `revision` unless it is the one loaded; returns the hosts it changed when it is valid and that is known. */
  async #load(revision: string, signal: AbortSignal, log: Logger): Promise<readonly Host[] | undefined> {
    if (revision === this.#loadedRevision) return undefined;
    const reader = this.#source.reader(revision, { maxBytes: MAX_FILE_BYTES });
    const r = await loadRepo(reader, { revision, memo: this.#memo, ...(this.#cache ? { cache: this.#cache } : {}), signal });
    this.#cache?.flush?.();
    this.#loadedRevision = revision;
    // A clean result without an index was reused from the store (a restart): see #scheduleIndexing.
    if (this.#memo.last !== undefined && this.#memo.last.index === undefined && r.diagnostics.length === 0) this.#scheduleIndexing(revision);
    const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
    if (hasErrors(r.diagnostics)) {
      this.#snapshot.invalidRevision = { revision, diagnostics: r.diagnostics };
      log.warn({ revision, errors }, 'Desired revision failed validation; keeping the last good one');
      this.#emit({ type: 'revision', at: this.#iso(), revision, valid: false, errors });
      return undefined;
    }
    this.#good = r.desired;
    delete this.#snapshot.invalidRevision;
    this.#emit({ type: 'revision', at: this.#iso(), revision, valid: true, errors: 0 });
    return this.#memo.changed;
  }

  /**
   * After a restart the first load is the stored result (nothing parsed or rendered), which has no index for
   * incremental loads: without one the next commit would be loaded in full (every host rendered, ~0.5–1 s at
   * 10,000 hosts). So, once the loop is idle, the same revision is loaded in full once, between passes.
   */
  #scheduleIndexing(revision: string): void {
    if (this.#indexing) return;
    this.#indexing = true;
    const t = setTimeout(() => {
      const run = this.#passLock.then(async () => {
        if (this.#stopping || revision !== this.#loadedRevision || this.#memo.last?.index !== undefined) return;
        const t0 = performance.now();
        const reader = this.#source.reader(revision, { maxBytes: MAX_FILE_BYTES });
        await loadRepo(reader, { revision, memo: this.#memo, ...(this.#cache ? { cache: this.#cache } : {}), index: true });
        this.#log.debug({ revision, ms: Math.round(performance.now() - t0) }, 'Indexed the loaded revision for incremental loads');
      });
      this.#passLock = run.then(
        () => undefined,
        (e: unknown) => this.#log.warn({ err: (e as Error).message }, 'Cannot index the loaded revision; the next load is a full one'),
      );
      void this.#passLock.finally(() => {
        this.#indexing = false;
      });
    }, INDEX_DELAY_MS);
    t.unref();
  }

  /**
   * The hosts a host-only commit added or edited, observed, planned and dispatched before the whole fleet is (a
   * focused plan, `PlanContext.hosts`): their actions start in a time that does not grow with the fleet. The full
   * pass follows at once, sees them in flight and decides what the focused plan deferred. Only once start-up
   * recovery is done and no orphan is left (orphans are reconciled against a full observation).
   */
  async #focusedPass(
    desired: DesiredState,
    sites: readonly Site[],
    changed: readonly Host[],
    pass: string,
    signal: AbortSignal,
    log: Logger,
  ): Promise<DispatchResult | undefined> {
    if (!this.#recovered || this.executor.orphanCount > 0) return undefined;
    const { targets, bySite } = groupBySite(desired, sites, changed);
    if (targets.size === 0) return undefined;
    const flying = this.executor.inFlight();
    // Only sites with changed hosts; a provider may answer with more machines than asked for (orphans): the focused
    // plan looks only at its hosts.
    const observed = (await this.#observe(bySite, { signal, only: true })).filter((o) => targets.has(o.name));
    const inFlight = inFlightAcross(flying, this.executor.inFlight());
    const ctx = { now: this.#iso(), approvals: [], inFlight, failed: this.#journal.failed(desired.revision), hosts: [...targets.values()].map((d) => d.host) };
    const observedState = { observedAt: ctx.now, hosts: observed };
    const actions: Action[] = [];
    let deferred = 0;
    for (const [site, hosts] of bySite) {
      if (hosts.length === 0) continue;
      const p = computePlan(desired, observedState, { ...ctx, site: site.metadata.name });
      actions.push(...p.actions);
      deferred += p.deferred?.length ?? 0;
    }
    const res = this.executor.dispatch(actions, targets, { revision: desired.revision, pass });
    log.debug({ hosts: targets.size, started: res.started.length, deferred }, 'Focused pass on the hosts the commit changed');
    // Let the started actions reach their providers before the full pass (linear in the fleet) takes the thread.
    if (res.started.length > 0) await setImmediate();
    return res;
  }

  /** Each site's provider asked about its hosts (sites without hosts too, unless `only`); each answer names its site. */
  async #observe(bySite: ReadonlyMap<Site, readonly DesiredHost[]>, opts: ObserveOptions): Promise<ObservedHost[]> {
    const observed: ObservedHost[] = [];
    for (const [site, hosts] of bySite) {
      if (opts.only === true && hosts.length === 0) continue;
      for (const o of await this.#provisionerFor(site).observe(hosts, opts)) observed.push(o.site === undefined ? { ...o, site: site.metadata.name } : o);
    }
    return observed;
  }

  #servedSites(desired: DesiredState): Site[] {
    const want = this.config.sites;
    return desired.sites.filter((s) => want.length === 0 || want.includes(s.metadata.name));
  }

  /** One pass. Public for `gough apply` and tests; passes are serialized (never overlap), whoever asks. */
  runPass(trigger: string, opts: { dispatch?: boolean } = {}): Promise<PassResult> {
    const run = this.#passLock.then(() => this.#pass(trigger, opts));
    this.#passLock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #pass(trigger: string, opts: { dispatch?: boolean }): Promise<PassResult> {
    this.#active++;
    this.maxConcurrentPasses = Math.max(this.maxConcurrentPasses, this.#active);
    try {
      return await this.#passBody(trigger, opts);
    } finally {
      this.#active--;
    }
  }

  async #passBody(trigger: string, opts: { dispatch?: boolean }): Promise<PassResult> {
    const pass = `p${++this.#passSeq}-${Date.now().toString(36)}`;
    const t0 = performance.now();
    const startedAt = this.#iso();
    const info: PassInfo = { id: pass, startedAt, trigger };
    this.#snapshot.lastPass = info;
    this.#emit({ type: 'pass-started', at: startedAt, pass, trigger });
    const log = this.#log.child({ pass });
    const signal = AbortSignal.timeout(10 * 60_000);
    const result: PassResult = { pass, ok: false, dispatched: undefined };
    const blockedCounts: Partial<Record<string, number>> = {};
    try {
      const revision = await this.#source.resolve({ signal });
      result.revision = revision;
      this.#snapshot.desiredRevision = revision;
      const changed = await this.#load(revision, signal, log);
      if (this.#snapshot.invalidRevision?.revision === revision) result.invalid = true;
      const desired = this.#good;
      if (!desired) throw toGoughError(new Error(`No valid revision to apply yet: "${revision.slice(0, 12)}" failed validation`), 'invalid-revision');
      result.appliedRevision = desired.revision;
      this.#snapshot.appliedRevision = desired.revision;

      const sites = this.#servedSites(desired);
      this.#snapshot.sites = sites.map((s) => s.metadata.name);
      const focused =
        changed !== undefined && opts.dispatch !== false ? await this.#focusedPass(desired, sites, changed, pass, signal, log) : undefined;
      const { targets, bySite } = groupBySite(desired, sites, desired.hosts);
      const flying = this.executor.inFlight();
      // Every served site, even one without hosts (its machines are then all orphans, to be reported).
      const observed = await this.#observe(bySite, { signal });
      const observedByName = new Map(observed.map((o) => [o.name, o]));

      // Open journal entries are reconciled with this observation before anything new is dispatched.
      const rec = this.executor.recover(observedByName);
      if (!this.#recovered) {
        this.#recovered = true;
        if (rec.verified + rec.waiting + rec.requeued > 0) log.info(rec, 'Reconciled journal entries left open by an earlier run');
      }

      const failed = this.#journal.failed(desired.revision);
      const inFlight = inFlightAcross(flying, this.executor.inFlight());
      const observedState = { observedAt: this.#iso(), hosts: observed };
      const plans: Plan[] = sites.map((s) =>
        computePlan(desired, observedState, { now: this.#iso(), approvals: [], inFlight, failed, site: s.metadata.name }),
      );
      const actions: Action[] = plans.flatMap((p) => p.actions);
      for (const p of plans) for (const b of p.blocked) for (const r of b.reasons) blockedCounts[r.kind] = (blockedCounts[r.kind] ?? 0) + 1;
      result.dispatched =
        opts.dispatch === false
          ? { started: [], skipped: [] }
          : this.executor.dispatch(actions, targets, { revision: desired.revision, pass });
      if (focused) result.dispatched.started.unshift(...focused.started);
      const summary = mergeSummaries(plans);
      result.plan = summary;
      this.#snapshot.plan = summary;

      // Let the dispatched actions reach their providers before the status documents (linear in the fleet) are built.
      await setImmediate();
      this.#updateStatus(desired, sites, plans, observedByName, log);
      result.ok = true;
      this.#snapshot.lastSuccessfulPassAt = this.#iso();
    } catch (e) {
      const err = toGoughError(e, 'internal');
      result.error = err.message;
      log.warn({ code: err.code, err: err.message }, 'Pass failed');
    }
    info.finishedAt = this.#iso();
    info.ok = result.ok;
    if (result.error !== undefined) info.error = result.error;
    const ev: DaemonEvent = {
      type: 'pass-finished',
      at: info.finishedAt,
      pass,
      ok: result.ok,
      durationMs: Math.round(performance.now() - t0),
      blocked: blockedCounts,
    };
    if (result.error !== undefined) ev.error = result.error;
    this.#emit(ev);
    return result;
  }

  #updateStatus(
    desired: DesiredState,
    sites: Site[],
    plans: Plan[],
    observed: ReadonlyMap<string, ObservedHost>,
    log: Logger,
  ): void {
    const last = this.#journal.lastPerHost();
    const lastActions = new Map<string, LastAction>();
    for (const [host, e] of last) {
      const la: LastAction = {
        kind: e.kind,
        id: e.actionId,
        outcome: e.state === 'cancelled' ? 'failed' : e.state,
        at: e.finishedAt ?? e.startedAt ?? e.createdAt,
      };
      const msg = e.state === 'failed' ? e.error : e.message;
      if (msg !== undefined && e.state !== 'cancelled') la.message = msg;
      if (e.state === 'cancelled') la.message = 'Cancelled: no longer planned';
      lastActions.set(host, la);
    }
    const inFlight = this.executor.busyHosts();
    const views: HostView[] = [];
    const now = this.#iso();
    let hostRes: Map<string, Host> | undefined;
    const labelsOf = (host: string): Record<string, string> => {
      if (hostRes === undefined) hostRes = new Map(desired.hosts.map((h) => [h.metadata.name, h]));
      return hostRes.get(host)?.metadata.labels ?? {};
    };
    sites.forEach((site, i) => {
      const name = site.metadata.name;
      const p = plans[i]!;
      const prev = this.#statusDocs.get(name) ?? new Map<string, StatusDoc>();
      const docs = computeStatusDocs({ site: name, desired, observed, plan: p, lastActions, inFlight, previous: prev, now });
      const next = new Map(docs.map((d) => [d.host, d]));
      for (const d of docs) {
        const before = prev.get(d.host);
        if (!before || before.observed.lifecycle !== d.observed.lifecycle || before.observed.power !== d.observed.power)
          this.#emit({ type: 'host-changed', at: now, host: d.host, site: name, lifecycle: d.observed.lifecycle, power: d.observed.power });
      }
      this.#statusDocs.set(name, next);
      const blockedBy = new Map(p.blocked.map((b) => [b.action.host, b.reasons]));
      for (const d of docs) {
        // A document reused from the last pass had the same host, plan entry and observation: so has its view.
        let v = this.#views.get(d);
        if (v === undefined) {
          v = { ...d, labels: labelsOf(d.host), blocked: blockedBy.get(d.host) ?? [] };
          this.#views.set(d, v);
        }
        views.push(v);
      }
      if (this.config.status.enabled) this.#queueStatusWrite(name, desired.revision, docs, log);
    });
    this.#snapshot.hosts = views;
  }

  /** Writes status in the background, serially, only when the files changed; the newest state wins. */
  #queueStatusWrite(site: string, revision: string, docs: StatusDoc[], log: Logger): void {
    const writer = this.#statusWriter(site);
    if (!writer) return;
    const files = statusFiles(site, revision, docs);
    if (sameFiles(this.#writtenStatus.get(site), files) && !writer.pending) return;
    const message = statusCommitMessage(site, revision, docs);
    this.#statusChain = this.#statusChain.then(async () => {
      try {
        await writer.write(files, message);
        this.#writtenStatus.set(site, files);
      } catch (e) {
        log.warn({ site, err: (e as Error).message }, 'Cannot write status; kept for the next pass');
      }
    });
  }

  /** Diagnostics of the last invalid revision (for `gough apply` output). */
  get invalidDiagnostics(): Diagnostic[] | undefined {
    return this.#snapshot.invalidRevision?.diagnostics;
  }
}

/**
 * `hosts` that belong to a served site and rendered, as dispatch targets by name and per site (every served site has
 * an entry, in `sites` order).
 */
function groupBySite(
  desired: DesiredState,
  sites: readonly Site[],
  hosts: readonly Host[],
): { targets: Map<string, DesiredHost>; bySite: Map<Site, DesiredHost[]> } {
  const siteOf = new Map(sites.map((site) => [site.metadata.name, site]));
  const targets = new Map<string, DesiredHost>();
  const bySite = new Map<Site, DesiredHost[]>(sites.map((site) => [site, []]));
  for (const host of hosts) {
    const site = siteOf.get(host.spec.site);
    const rendered = desired.rendered.get(host.metadata.name);
    if (site === undefined || rendered === undefined) continue;
    const dh: DesiredHost = { host, site, revision: desired.revision, rendered };
    bySite.get(site)!.push(dh);
    targets.set(host.metadata.name, dh);
  }
  return { targets, bySite };
}

/**
 * What the plan must wait on: work in flight when the observation started or after it. An action that ended while
 * the hosts were being listed may not show in that list (it was answered just before); planning from it would
 * issue the action again. It is waited on instead, and the pass its end asks for sees it done.
 */
function inFlightAcross(before: readonly InFlight[], after: readonly InFlight[]): InFlight[] {
  const now = new Set(after.map((f) => f.actionId));
  return [...after, ...before.filter((f) => !now.has(f.actionId))];
}

function sameFiles(a: ReadonlyMap<string, string> | undefined, b: ReadonlyMap<string, string>): boolean {
  if (a === undefined || a.size !== b.size) return false;
  for (const [name, content] of b) if (a.get(name) !== content) return false;
  return true;
}

function mergeSummaries(plans: Plan[]): PlanSummary {
  const s: PlanSummary = { hosts: 0, actions: 0, disruptive: 0, waits: 0, blocked: 0, orphans: 0, byKind: {}, converged: true };
  for (const p of plans) {
    s.hosts += p.summary.hosts;
    s.actions += p.summary.actions;
    s.disruptive += p.summary.disruptive;
    s.waits += p.summary.waits;
    s.blocked += p.summary.blocked;
    s.orphans += p.summary.orphans;
    s.converged &&= p.summary.converged;
    for (const [k, n] of Object.entries(p.summary.byKind)) s.byKind[k as Action['kind']] = (s.byKind[k as Action['kind']] ?? 0) + (n ?? 0);
  }
  return s;
}
