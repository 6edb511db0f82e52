import pino, { Logger, LoggerOptions } from 'pino';
import { currentContext } from './request-context';

export type { Logger } from 'pino';

/**
 * Keys whose values never reach a log line, wherever they sit in the logged object (CON-1: no token in a log).
 * pino's redaction works on exact paths, so the common nestings are listed.
 */
const SECRET_KEYS = [
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'authorization',
  'Authorization',
  'password',
  'clientSecret',
  'client_secret',
  'authorizationCode',
  'token',
  'secret',
];
// An OAuth authorization code travels as `code` in a callback's query; elsewhere `code` is an error code we want to see.
const redactPaths = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `req.headers.${k.toLowerCase()}`]),
  'query.code',
  '*.query.code',
];

export interface CreateLoggerOptions {
  readonly service: string;
  readonly level?: string;
  /** For tests: where lines go (defaults to stdout). */
  readonly destination?: pino.DestinationStream;
}

/** Structured JSON logs; every line carries the service name and the current correlation id. */
export function createLogger(options: CreateLoggerOptions): Logger {
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    redact: { paths: [...new Set(redactPaths)], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => {
      const ctx = currentContext();
      return ctx ? { correlationId: ctx.correlationId } : {};
    },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
