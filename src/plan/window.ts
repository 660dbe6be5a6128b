/**
 * Maintenance windows: a cron expression for the start, a duration and an IANA time zone.
 * Pure computation over `now` (croner is used as a calculator only: `paused`, no callback, no timers).
 */
import { Cron } from 'croner';
import { type MaintenanceWindow, parseDuration, windowProblem } from '../model/index.js';

export { parseDuration };

/** Whether `now` lies in a window, and when it next opens (when closed) or closes (when open). */
export type WindowState =
  | { open: true; closes: string }
  | { open: false; opens?: string }
  | { open: false; invalid: string };

/** A problem with a window's schedule, duration or time zone; undefined when valid. */
export function checkWindow(w: MaintenanceWindow, defaultTimezone = 'UTC'): string | undefined {
  return windowProblem(w, defaultTimezone)?.message;
}

/**
 * The state of one window at `now`. Inside means some start `s` (a cron occurrence) has `s <= now < s + duration`,
 * i.e. the first occurrence strictly after `now - duration` is at or before `now`.
 */
export function windowState(w: MaintenanceWindow, now: Date, defaultTimezone = 'UTC'): WindowState {
  // Memoised: croner's nextRun costs about half a millisecond, and a daemon re-plans with few distinct windows.
  const key = `${w.schedule}\u0000${w.duration}\u0000${w.timezone ?? defaultTimezone}\u0000${now.getTime()}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const state = computeWindowState(w, now, defaultTimezone);
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(key, state);
  return state;
}

const MEMO_MAX = 4096;
const memo = new Map<string, WindowState>();

function computeWindowState(w: MaintenanceWindow, now: Date, defaultTimezone: string): WindowState {
  const problem = checkWindow(w, defaultTimezone);
  if (problem !== undefined) return { open: false, invalid: problem };
  const duration = parseDuration(w.duration)!;
  const cron = new Cron(w.schedule, { timezone: w.timezone ?? defaultTimezone, paused: true });
  const start = cron.nextRun(new Date(now.getTime() - duration));
  if (start && start.getTime() <= now.getTime()) {
    return { open: true, closes: new Date(start.getTime() + duration).toISOString() };
  }
  const next = start ?? cron.nextRun(now);
  return next ? { open: false, opens: next.toISOString() } : { open: false };
}

/** Combines several windows of one policy: open when any is open; otherwise the earliest next opening. */
export function windowsState(ws: readonly MaintenanceWindow[], now: Date, defaultTimezone = 'UTC'): WindowState {
  let opens: string | undefined;
  const invalid: string[] = [];
  for (const w of ws) {
    const s = windowState(w, now, defaultTimezone);
    if (s.open) return s;
    if ('invalid' in s) invalid.push(s.invalid);
    else if (s.opens !== undefined && (opens === undefined || s.opens < opens)) opens = s.opens;
  }
  if (opens !== undefined) return { open: false, opens };
  if (invalid.length > 0) return { open: false, invalid: invalid.join('; ') };
  return { open: false };
}
