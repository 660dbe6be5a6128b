/**
 * A controllable DaemonView for the HTTP layer's tests: the test sets the snapshot and emits events,
 * as the daemon loop would.
 */
import type { DaemonEvent, DaemonSnapshot, DaemonView, HostView, WebhookResult } from '../../../src/daemon/view.js';
import type { Lifecycle, PowerState } from '../../../src/model/index.js';

export function hostView(
  name: string,
  site: string,
  lifecycle: Lifecycle,
  extra: { power?: PowerState; labels?: Record<string, string> } & Partial<HostView> = {},
): HostView {
  const { power, labels, ...rest } = extra;
  return {
    host: name,
    site,
    desiredRevision: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    specHash: 'f00dfeedf00dfeed',
    observed: { lifecycle, power: power ?? (lifecycle === 'deployed' ? 'on' : 'off') },
    conditions: [],
    labels: labels ?? {},
    blocked: [],
    ...rest,
  };
}

export class FakeView implements DaemonView {
  snap: DaemonSnapshot;
  readonly passRequests: string[] = [];
  readonly webhooks: { headers: Record<string, string | undefined>; body: Buffer }[] = [];
  webhookResult: WebhookResult = { status: 202, body: 'accepted' };
  readonly #listeners = new Set<(e: DaemonEvent) => void>();

  constructor(snap: Partial<DaemonSnapshot> = {}) {
    this.snap = { sites: [], hosts: [], events: [], ...snap };
  }

  snapshot(): DaemonSnapshot {
    return structuredClone(this.snap);
  }

  subscribe(listener: (e: DaemonEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  requestPass(trigger: string): void {
    this.passRequests.push(trigger);
  }

  async handleWebhook(headers: Record<string, string | undefined>, rawBody: Buffer): Promise<WebhookResult> {
    this.webhooks.push({ headers, body: rawBody });
    return this.webhookResult;
  }

  /** Records the event in the snapshot (most recent first) and tells every subscriber. */
  emit(e: DaemonEvent): void {
    this.snap.events = [e, ...this.snap.events].slice(0, 200);
    for (const l of this.#listeners) l(e);
  }

  /** Changes a host's lifecycle (and power) in the snapshot and emits `host-changed`. */
  setLifecycle(host: string, lifecycle: Lifecycle, power?: PowerState): void {
    const h = this.snap.hosts.find((x) => x.host === host);
    if (!h) throw new Error(`no host ${host}`);
    h.observed = { ...h.observed, lifecycle, power: power ?? h.observed.power };
    this.emit({ type: 'host-changed', at: new Date().toISOString(), host, site: h.site, lifecycle, power: h.observed.power });
  }
}
