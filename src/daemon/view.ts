/**
 * What the daemon shows to its HTTP face (status page, /api/v1/status, /metrics, webhooks).
 * `daemon/loop` implements `DaemonView`; `daemon/http` consumes it. Nothing here carries a secret.
 */
import type { ActionKind, BlockReason, Diagnostic, Lifecycle, PlanSummary, PowerState, StatusDoc } from '../model/index.js';

export type HostView = StatusDoc & {
  labels: Record<string, string>;
  /** Reasons the host's next action is blocked, with `until` when known. */
  blocked: BlockReason[];
};

export type PassInfo = { id: string; startedAt: string; finishedAt?: string; ok?: boolean; error?: string; trigger: string };

export type DaemonSnapshot = {
  sites: string[];
  desiredRevision?: string;
  appliedRevision?: string;
  /** A revision that failed validation; the daemon keeps acting on `appliedRevision`. */
  invalidRevision?: { revision: string; diagnostics: Diagnostic[] };
  lastPass?: PassInfo;
  lastSuccessfulPassAt?: string;
  plan?: PlanSummary;
  hosts: HostView[];
  /** Most recent first, bounded. */
  events: DaemonEvent[];
};

export type DaemonEvent =
  | { type: 'pass-started'; at: string; pass: string; trigger: string }
  | { type: 'pass-finished'; at: string; pass: string; ok: boolean; durationMs: number; error?: string; blocked: Partial<Record<BlockReason['kind'], number>> }
  | { type: 'revision'; at: string; revision: string; valid: boolean; errors: number }
  | { type: 'action-started'; at: string; pass: string; host: string; site: string; kind: ActionKind; actionId: string }
  | {
      type: 'action-finished';
      at: string;
      pass: string;
      host: string;
      site: string;
      kind: ActionKind;
      actionId: string;
      outcome: 'succeeded' | 'failed' | 'retrying';
      message: string;
    }
  | { type: 'host-changed'; at: string; host: string; site: string; lifecycle: Lifecycle; power: PowerState };

export type WebhookResult = { status: number; body: string };

export interface DaemonView {
  snapshot(): DaemonSnapshot;
  /** Calls `listener` for every event until the returned function is called. */
  subscribe(listener: (e: DaemonEvent) => void): () => void;
  /** Asks for a pass soon (coalesced; passes never overlap). */
  requestPass(trigger: string): void;
  /** Verifies and handles a GitHub webhook delivery (raw body, for the HMAC). */
  handleWebhook(headers: Record<string, string | undefined>, rawBody: Buffer): Promise<WebhookResult>;
}
