/**
 * Errors with a stable `code` and a retry classification. Callers branch on `code` and
 * `retry`, never on message text. Messages are sentence case, no final period, and never
 * contain secrets (see `scrubSecrets`).
 */

/** Every error and diagnostic code Gough emits. `docs/errors.md` lists each one (a test checks). */
export const ERROR_CODES = {
  // repository diagnostics (gough validate)
  'yaml-syntax': 'A YAML file does not parse',
  'yaml-limit': 'A YAML file exceeds a safety limit (size, nesting depth, alias expansion)',
  'file-read': 'A file in the repository cannot be read (binary, not UTF-8, unreadable, symlink)',
  schema: 'A resource does not match its JSON Schema',
  'unknown-kind': 'A document has a `kind` Gough does not know',
  'unknown-api-version': 'A document has an `apiVersion` Gough does not know',
  'duplicate-name': 'Two resources of one kind share a name',
  'duplicate-mac': 'Two hosts declare the same MAC address',
  'duplicate-ip': 'Two hosts declare the same IP address',
  'duplicate-bmc': 'Two hosts declare the same BMC address and port',
  'duplicate-hostname': 'Two hosts resolve to the same hostname',
  'unknown-site': 'A host names a site that is not defined',
  'unknown-template': 'A host names a template that is not defined',
  'selector-matches-nothing': 'A policy selector matches no host (warning)',
  'literal-secret': 'A secret is written literally where only a reference is allowed',
  'template-var': 'A template uses a variable the host does not provide',
  'template-syntax': 'A template does not parse',
  'repo-config': 'The repository settings file is invalid',
  // planner and policy
  'plan-input': 'The observed-state snapshot or plan options are invalid',
  // drivers, shared
  'auth-failed': 'Credentials were rejected (bad password, API key or token); never retried',
  'permission-denied': 'The credentials lack a privilege the operation needs; never retried',
  unreachable: 'A peer did not answer or refused the connection; retried with backoff',
  timeout: 'An operation did not finish before its deadline',
  busy: 'A peer asked to retry later (BMC busy, MAAS Retry-After)',
  conflict: 'The peer refused the operation in its current state; terminal for that action',
  'not-found': 'The peer does not know the object',
  'bad-response': 'A peer answered with something Gough cannot decode',
  'verify-failed': 'An action ran but a fresh observation did not show its effect in time',
  'provider-error': 'The provider reported a failure (failed deployment, commissioning)',
  'secret-missing': 'A secret reference cannot be resolved (unset variable, missing file or key)',
  aborted: 'The operation was cancelled',
  // IPMI
  'ipmi-completion': 'A BMC answered an IPMI command with a non-zero completion code',
  'ipmi-decode': 'An IPMI/RMCP packet is malformed',
  // PXE
  'dhcp-decode': 'A DHCP packet is malformed',
  'tftp-decode': 'A TFTP packet is malformed',
  // git, daemon, journal
  'git-error': 'A Git operation failed (clone, fetch, read, push)',
  'invalid-revision': 'The desired revision failed validation and is not applied',
  'journal-error': 'The action journal cannot be opened or written',
  'config-error': 'The daemon configuration is invalid',
  'webhook-signature': 'A webhook arrived with a bad or missing signature',
  'forge-error': 'The forge (GitHub) API failed',
  usage: 'A command was called with wrong arguments',
  internal: 'A bug in Gough: please report it',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** How a caller may retry: never (terminal), after a delay the peer gave, or with backoff. */
export type Retry = { kind: 'never' } | { kind: 'after'; ms: number } | { kind: 'backoff' };

/** A position in a repository file; 1-based line and column. */
export type SourcePos = { file: string; line: number; col: number };

export type GoughErrorOptions = { retry?: Retry; source?: SourcePos; cause?: unknown };

export class GoughError extends Error {
  override readonly name = 'GoughError';
  readonly retry: Retry;
  readonly source: SourcePos | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: GoughErrorOptions = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retry = opts.retry ?? { kind: 'never' };
    this.source = opts.source;
  }
}

export function isGoughError(e: unknown): e is GoughError {
  return e instanceof GoughError;
}

/** Wraps anything thrown into a GoughError, keeping an existing one as is. */
export function toGoughError(e: unknown, fallback: ErrorCode = 'internal'): GoughError {
  if (e instanceof GoughError) return e;
  if (e instanceof Error && e.name === 'AbortError') return new GoughError('aborted', 'Operation cancelled', { cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new GoughError(fallback, message, { cause: e });
}

/**
 * Removes secret values from a message: every given secret (non-empty, ≥ 4 chars) is replaced by `***`,
 * and credentials embedded in URLs (`https://user:pass@host`) are dropped.
 */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  // Without an "@" there is no URL credential to drop (and status documents scrub thousands of messages a pass).
  let out = text.includes('@') ? text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(?::[^/\s@]*)?@/gi, '$1***@') : text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}
