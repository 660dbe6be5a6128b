/** Safety limits of the loader: hostile pull requests must produce a diagnostic, never a hang or a crash. */

/** Largest YAML file read (bytes). Larger files are reported as `yaml-limit` without being read. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of mappings/sequences in a document. */
export const MAX_DEPTH = 64;
/** Most alias expansions in one document (billion-laughs guard, passed to `yaml` as maxAliasCount). */
export const MAX_ALIAS_COUNT = 100;
/** Most documents in one file. */
export const MAX_DOCUMENTS = 100_000;

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} bytes`;
}
