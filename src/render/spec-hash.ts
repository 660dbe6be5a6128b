/**
 * specHash: a stable hash of everything that changes what a host runs. A host whose deployed specHash differs
 * from the desired one is redeployed, so the hash covers exactly: OS (distro, series), hostname, firmware and
 * architecture, the rendered user-data, the kernel arguments and the iPXE script (installer, boot settings).
 * Labels, power, policies and the Git revision are not in it: changing them never redeploys a host.
 *
 * It is the first 16 hex characters (64 bits) of SHA-256 over a canonical JSON of those parts (keys sorted,
 * no whitespace). Fixed length, lower-case hex: no hash is a prefix of another, and it is the same on every
 * machine and run.
 */
import { hash } from 'node:crypto';

export const SPEC_HASH_LENGTH = 16;

export type SpecHashParts = {
  os: { distro: string; series: string };
  hostname: string;
  firmware: string;
  arch: string;
  userData: string;
  kernelArgs: string;
  ipxeScript: string;
};

/** JSON with object keys sorted at every level. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    const obj = value as Record<string, unknown>;
    return `{${keys
      .filter((k) => obj[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The canonical JSON of the parts, written out directly (it equals `canonicalJson`; a test checks). */
function partsJson(p: SpecHashParts): string {
  const j = JSON.stringify;
  return `{"arch":${j(p.arch)},"firmware":${j(p.firmware)},"hostname":${j(p.hostname)},"ipxeScript":${j(p.ipxeScript)},"kernelArgs":${j(p.kernelArgs)},"os":{"distro":${j(p.os.distro)},"series":${j(p.os.series)}},"userData":${j(p.userData)},"v":1}`;
}

export function specHashOf(parts: SpecHashParts): string {
  // One-shot `hash` (no Hash object): several times cheaper than createHash().update().digest() for small inputs.
  return hash('sha256', partsJson(parts), 'hex').slice(0, SPEC_HASH_LENGTH);
}
