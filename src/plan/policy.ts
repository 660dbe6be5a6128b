/**
 * Policy evaluation helpers (pure). `plan.ts` decides which policies select which hosts; these compute each
 * policy's limits once per plan.
 */
import type { Approval, Policy } from '../model/index.js';

/**
 * How many of `selected` hosts may be unavailable at once. A count is used as is; "N%" is N percent of the
 * selected hosts rounded down, but at least 1, unless 0 (or "0%") is written explicitly. Invalid values give 0
 * (nothing disruptive proceeds), with a note.
 */
export function maxUnavailableLimit(value: number | string, selected: number): { limit: number; note?: string } {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) return { limit: 0, note: `invalid maxUnavailable ${String(value)}` };
    return { limit: value };
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(value);
  if (!m) return { limit: 0, note: `invalid maxUnavailable "${value}"` };
  const n = Number(m[1]);
  if (m[2] !== '%') return Number.isInteger(n) ? { limit: n } : { limit: 0, note: `invalid maxUnavailable "${value}"` };
  if (n === 0) return { limit: 0 };
  return { limit: Math.max(1, Math.floor((n * selected) / 100)) };
}

function norm(s: string): string {
  return s.trim().replace(/^@/, '').toLowerCase();
}

/** A `from` entry names a team when it starts with `@` or contains `/` (`@org/team`); otherwise a user login. */
function isTeam(entry: string): boolean {
  return entry.trim().startsWith('@') || entry.includes('/');
}

/**
 * The distinct approvers (sorted, as given) that count for `requireApprovals`: every approver when `from` is
 * absent or empty; otherwise those whose login is listed or who belong to a listed team. Logins and team slugs
 * compare case-insensitively, with or without a leading `@`.
 */
export function countingApprovers(approvals: readonly Approval[], from: readonly string[] | undefined): string[] {
  const users = new Set<string>();
  const teams = new Set<string>();
  for (const f of from ?? []) (isTeam(f) ? teams : users).add(norm(f));
  const any = users.size === 0 && teams.size === 0;
  const out = new Map<string, string>();
  for (const a of approvals) {
    const key = norm(a.user);
    if (out.has(key)) continue;
    if (any || users.has(key) || (a.teams ?? []).some((t) => teams.has(norm(t)))) out.set(key, a.user);
  }
  return [...out.values()].sort(compareStrings);
}

/** Code-point order (stable across locales and Node versions). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function describeApprovalRule(p: Policy): string {
  const r = p.spec.requireApprovals;
  if (!r) return '';
  const from = r.from && r.from.length > 0 ? ` from ${r.from.join(', ')}` : '';
  return `${r.count} approval${r.count === 1 ? '' : 's'}${from}`;
}
