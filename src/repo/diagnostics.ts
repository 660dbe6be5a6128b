/** Diagnostics: ordering and the three output formats of `gough validate` (text, JSON, GitHub annotations). */
import type { Diagnostic } from '../model/index.js';

export function hasErrors(d: readonly Diagnostic[]): boolean {
  return d.some((x) => x.severity === 'error');
}

/** Sorted by file, line, column, code (then message), in place; returns the array. */
export function sortDiagnostics(d: Diagnostic[]): Diagnostic[] {
  return d.sort(
    (a, b) =>
      cmp(a.file, b.file) || a.line - b.line || a.col - b.col || cmp(a.code, b.code) || cmp(a.message, b.message),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `file:line:col: error[code]: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity}[${d.code}]: ${d.message}`;
}

/** `formatDiagnostic` with the file prefixed by the validated directory (posix join), as the CLI prints it. */
export function formatDiagnosticIn(d: Diagnostic, dir: string): string {
  return formatDiagnostic({ ...d, file: withDir(d.file, dir) });
}

/** A GitHub Actions workflow command: `::error file=…,line=…,col=…,title=gough validate (code)::message`. */
export function formatGithubAnnotation(d: Diagnostic, dir?: string): string {
  const prop = (s: string): string =>
    s
      .replaceAll('%', '%25')
      .replaceAll('\r', '%0D')
      .replaceAll('\n', '%0A')
      .replaceAll(':', '%3A')
      .replaceAll(',', '%2C');
  const data = d.message.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
  return `::${d.severity} file=${prop(withDir(d.file, dir))},line=${d.line},col=${d.col},title=${prop(`gough validate (${d.code})`)}::${data}`;
}

/** The JSON document of `--format json`: file relative to the validated directory, 1-based line/col. */
export function diagnosticsJson(d: readonly Diagnostic[]): string {
  return JSON.stringify({
    diagnostics: d.map((x) => ({
      file: x.file,
      line: x.line,
      col: x.col,
      severity: x.severity,
      code: x.code,
      message: x.message,
    })),
  });
}

/** "2 errors, 1 warning" */
export function countLabel(d: readonly Diagnostic[]): string {
  const e = d.filter((x) => x.severity === 'error').length;
  const w = d.length - e;
  return `${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}`;
}

function withDir(file: string, dir: string | undefined): string {
  if (dir === undefined || dir === '' || dir === '.' || dir === './') return file;
  return `${dir.replace(/\/+$/, '')}/${file}`;
}
