/**
 * Checking maintenance windows and time zones. Shared by the loader (`gough validate` reports a bad window at its
 * field) and the planner (a window that does not parse is never open). croner is used as a parser only.
 */
import { Cron } from 'croner';
import type { MaintenanceWindow } from './resources.js';

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Parses a duration like `4h`, `90m`, `1h30m`, `2d`, `45s` into milliseconds; undefined when invalid or zero. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  const [, d, h, min, s] = m;
  const ms = ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(s ?? 0) * 1000;
  return ms > 0 ? ms : undefined;
}

/** Answers of `isTimeZone` (building an Intl formatter costs milliseconds; a repository names a handful of zones). */
const zones = new Map<string, boolean>();
const MAX_ZONES = 1024;

/** True when `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  let known = zones.get(tz);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      known = true;
    } catch {
      known = false;
    }
    if (zones.size >= MAX_ZONES) zones.clear();
    zones.set(tz, known);
  }
  return known;
}

/** What is wrong with a window, and in which field; undefined when it is valid. */
export type WindowProblem = { field: 'schedule' | 'duration' | 'timezone'; message: string };

export function windowProblem(w: MaintenanceWindow, defaultTimezone = 'UTC'): WindowProblem | undefined {
  if (parseDuration(w.duration) === undefined)
    return { field: 'duration', message: `invalid duration "${w.duration}" (use e.g. "4h", "90m", "1h30m")` };
  const tz = w.timezone ?? defaultTimezone;
  if (!isTimeZone(tz)) return { field: 'timezone', message: `unknown time zone "${tz}"` };
  try {
    new Cron(w.schedule, { timezone: tz, paused: true });
  } catch (e) {
    return {
      field: 'schedule',
      message: `invalid cron schedule "${w.schedule}": ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  return undefined;
}
