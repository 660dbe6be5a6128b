/**
 * The root pino logger. Created once in `cli/` and passed down; child loggers carry
 * `component`, `site`, `host` and `pass`. Secrets are removed by configuration (pino `redact`), so a
 * stray `password` or `authorization` header never reaches a log line, however deep it is nested.
 */
import { pino } from 'pino';
import type { DestinationStream, Level, Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values are secrets wherever they appear (top level, one or two levels deep). */
export const SECRET_KEYS = [
  'password',
  'passwd',
  'secret',
  'token',
  'apiKey',
  'api_key',
  'accessToken',
  'refreshToken',
  'privateKey',
  'webhookSecret',
  'credentials',
  'authorization',
  'cookie',
  'oauth_signature',
] as const;

const CENSOR = '[redacted]';

/** pino redaction paths: each secret key at depth 0-2, plus HTTP headers of logged requests and errors. */
export function redactPaths(): string[] {
  const paths: string[] = [];
  for (const k of SECRET_KEYS) {
    paths.push(k, `*.${k}`, `*.*.${k}`);
  }
  for (const h of ['authorization', 'cookie', 'x-hub-signature-256', 'x-hub-signature', 'set-cookie']) {
    paths.push(`req.headers["${h}"]`, `headers["${h}"]`, `*.headers["${h}"]`, `res.headers["${h}"]`);
  }
  return paths;
}

export type LoggerOptions = {
  level?: Level | 'silent';
  /** Where JSON lines go; stderr by default (stdout carries command output). */
  destination?: DestinationStream | NodeJS.WritableStream;
  /**
   * Fields bound on every line. Only trusted keys belong here. A `component` here becomes the logger's `name`
   * (child loggers set their own `component`; JSON lines never carry a key twice).
   */
  base?: Record<string, string>;
};

/** Creates the root logger: JSON lines, ISO time, secrets redacted. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const destination = (opts.destination ?? pino.destination({ fd: 2, sync: false })) as DestinationStream;
  const { component, ...base } = opts.base ?? {};
  return pino(
    {
      level: opts.level ?? 'info',
      name: component ?? 'gough',
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: CENSOR },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination,
  );
}

/** A logger that drops everything (tests, `--quiet`). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
