/** Boot events: what the PXE services saw a machine do. These are the observed progress of an install. */
export type BootEventKind =
  | 'dhcp-offer'
  | 'dhcp-ack'
  | 'dhcp-nak'
  | 'dhcp-release'
  | 'dhcp-decline'
  | 'dhcp-inform'
  | 'dhcp-ignored'
  | 'tftp-fetch'
  | 'tftp-error'
  | 'script-fetch'
  | 'cloud-init-fetch'
  | 'install-complete'
  | 'discovered';

export type BootEvent = {
  kind: BootEventKind;
  /** ISO 8601 instant. */
  at: string;
  mac?: string;
  host?: string;
  address?: string;
  /** Boot file offered, file fetched, or script kind served. */
  file?: string;
  bootFile?: string;
  bytes?: number;
  ms?: number;
  reason?: string;
  discovered?: boolean;
  /** For script fetches: what the gate answered. */
  script?: 'install' | 'local-disk' | 'no-business' | 'discovery';
  specHash?: string;
};

/** One log line per event: `<at> <kind> key=value ...` (values quoted when they contain spaces). */
export function formatBootEvent(e: BootEvent): string {
  const parts = [e.at, e.kind];
  for (const [k, v] of Object.entries(e)) {
    if (k === 'at' || k === 'kind' || v === undefined) continue;
    const s = String(v);
    parts.push(`${k}=${/[\s"]/.test(s) ? JSON.stringify(s) : s}`);
  }
  return parts.join(' ');
}
