/**
 * MAAS machine status codes (`status`, numeric) and their mapping to Gough's normalized lifecycle.
 * Gough reads only the numeric code; `status_name` is a display label and may be localized or renamed.
 * Source: maas `src/maascommon/enums/node.py` (see shared/contracts/maas/README.md).
 */
import type { Lifecycle, PowerState } from '../../model/index.js';

export const NODE_STATUS = {
  NEW: 0,
  COMMISSIONING: 1,
  FAILED_COMMISSIONING: 2,
  MISSING: 3,
  READY: 4,
  RESERVED: 5,
  DEPLOYED: 6,
  RETIRED: 7,
  BROKEN: 8,
  DEPLOYING: 9,
  ALLOCATED: 10,
  FAILED_DEPLOYMENT: 11,
  RELEASING: 12,
  FAILED_RELEASING: 13,
  DISK_ERASING: 14,
  FAILED_DISK_ERASING: 15,
  RESCUE_MODE: 16,
  ENTERING_RESCUE_MODE: 17,
  FAILED_ENTERING_RESCUE_MODE: 18,
  EXITING_RESCUE_MODE: 19,
  FAILED_EXITING_RESCUE_MODE: 20,
  TESTING: 21,
  FAILED_TESTING: 22,
} as const;
export type NodeStatusName = keyof typeof NODE_STATUS;
export type NodeStatus = (typeof NODE_STATUS)[NodeStatusName];

/** `status_name` labels MAAS shows, by code. */
export const NODE_STATUS_LABEL: Readonly<Record<number, string>> = {
  0: 'New',
  1: 'Commissioning',
  2: 'Failed commissioning',
  3: 'Missing',
  4: 'Ready',
  5: 'Reserved',
  6: 'Deployed',
  7: 'Retired',
  8: 'Broken',
  9: 'Deploying',
  10: 'Allocated',
  11: 'Failed deployment',
  12: 'Releasing',
  13: 'Releasing failed',
  14: 'Disk erasing',
  15: 'Failed disk erasing',
  16: 'Rescue mode',
  17: 'Entering rescue mode',
  18: 'Failed to enter rescue mode',
  19: 'Exiting rescue mode',
  20: 'Failed to exit rescue mode',
  21: 'Testing',
  22: 'Failed testing',
};

/**
 * Numeric MAAS status → Gough lifecycle. Every FAILED_* is `failed`; BROKEN is `broken`; MISSING, RETIRED and the
 * rescue-mode states are `unknown` (the machine is not in a state Gough drives); TESTING counts as commissioning
 * (MAAS runs tests as part of commissioning); DISK_ERASING is part of releasing; RESERVED is held like ALLOCATED.
 */
export const LIFECYCLE_OF_STATUS: Readonly<Record<number, Lifecycle>> = {
  0: 'new',
  1: 'commissioning',
  2: 'failed',
  3: 'unknown',
  4: 'ready',
  5: 'allocated',
  6: 'deployed',
  7: 'unknown',
  8: 'broken',
  9: 'deploying',
  10: 'allocated',
  11: 'failed',
  12: 'releasing',
  13: 'failed',
  14: 'releasing',
  15: 'failed',
  16: 'unknown',
  17: 'unknown',
  18: 'failed',
  19: 'unknown',
  20: 'failed',
  21: 'commissioning',
  22: 'failed',
};

export function lifecycleOfStatus(status: number | undefined): Lifecycle {
  if (status === undefined) return 'unknown';
  return LIFECYCLE_OF_STATUS[status] ?? 'unknown';
}

/** MAAS `power_state` → PowerState; anything else (missing, new values) is `unknown`, never `off`. */
export function powerOf(state: unknown): PowerState {
  return state === 'on' || state === 'off' || state === 'error' ? state : 'unknown';
}
