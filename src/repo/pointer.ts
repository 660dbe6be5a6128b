/** JSON Pointers (RFC 6901, as ajv's instancePath) and their human form `spec.hardware.macs[0]`. */

export function toPointer(path: readonly (string | number)[]): string {
  return path.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

export function fromPointer(ptr: string): string[] {
  if (ptr === '') return [];
  return ptr
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** `spec.hardware.macs[0]`; the empty path is `the document`. */
export function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the document';
  let out = '';
  for (const seg of path) {
    const s = String(seg);
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

export function describePointer(ptr: string): string {
  return describePath(fromPointer(ptr));
}

/** `"value"` for messages: JSON, cut to 60 characters. */
export function quoteValue(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
