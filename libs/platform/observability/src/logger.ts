import pino, { Logger, LoggerOptions } from 'pino';
import { build as pinoPretty } from 'pino-pretty';
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

export type LogFormat = 'json' | 'pretty';

export interface CreateLoggerOptions {
  readonly service: string;
  readonly level?: string;
  /** `json` (machines), `pretty` (a person at a terminal); default: `pretty` when stdout is a TTY, else `json`. */
  readonly format?: LogFormat | 'auto';
  /** For tests: where lines go (defaults to stdout). */
  readonly destination?: pino.DestinationStream;
}

/** The format `auto` stands for in this process: a person reads a terminal, anything else is read by a machine. */
export function resolveLogFormat(format: LogFormat | 'auto' | undefined): LogFormat {
  if (format === 'json' || format === 'pretty') return format;
  return process.stdout.isTTY ? 'pretty' : 'json';
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;

/** W3C trace context ids of a `traceparent` header (none when it is malformed or all zeros). */
export function traceIdsOf(traceparent: string | undefined): { trace_id?: string; span_id?: string } {
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim().toLowerCase()) : null;
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return {};
  return { trace_id: m[1], span_id: m[2] };
}

/**
 * pino appends each child's bindings to its parent's, so `child({ service })` under a logger that has a `service`
 * wrote the key twice (invalid for Elasticsearch/OpenSearch). Our loggers keep their bindings here instead, merged
 * (the innermost wins), and the mixin writes them into the line's object, where the call's own keys win: every key
 * appears once.
 */
const BINDINGS = Symbol('mailbridge.bindings');
type Bindings = Record<string, unknown>;
type BoundLogger = Logger & { [BINDINGS]: Bindings };

function bind(logger: Logger, bindings: Bindings): Logger {
  const bound = logger as BoundLogger;
  bound[BINDINGS] = bindings;
  const pinoChild = logger.child.bind(logger);
  // A child is a pino child with no bindings of its own (level, serializers and redaction inherited as usual).
  bound.child = ((childBindings: Bindings, options?: pino.ChildLoggerOptions) =>
    bind(pinoChild({}, options), { ...bound[BINDINGS], ...childBindings })) as unknown as Logger['child'];
  bound.bindings = () => ({ ...bound[BINDINGS] });
  bound.setBindings = (more: Bindings) => {
    bound[BINDINGS] = { ...bound[BINDINGS], ...more };
  };
  return logger;
}

/**
 * Structured logs; every line carries the service name, the current correlation id and, when the operation came with
 * a W3C `traceparent`, its `trace_id` and `span_id`. JSON lines, or human-readable ones for a person at a terminal.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    base: undefined,
    redact: { paths: [...new Set(redactPaths)], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: (_object, _level, logger) => {
      const ctx = currentContext();
      return {
        ...(logger as Partial<BoundLogger>)[BINDINGS],
        ...(ctx ? { correlationId: ctx.correlationId, ...traceIdsOf(ctx.traceparent) } : {}),
      };
    },
  };
  const destination = options.destination ?? logDestination(resolveLogFormat(options.format));
  return bind(pino(config, destination), { service: options.service });
}

/** Where lines of a format go: stdout as JSON, or through pino-pretty (in process, synchronous) for a person. */
export function logDestination(format: LogFormat): pino.DestinationStream {
  if (format === 'json') return pino.destination({ sync: true });
  // time, level, [service/component] message, then the other fields
  return pinoPretty({
    colorize: Boolean(process.stdout.isTTY),
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'service,component,context',
    messageFormat: '[{service}{if component}/{component}{end}] {if context}{context}: {end}{msg}',
  });
}

/**
 * Holds lines until `release()`, then passes them through. The embedded launcher holds its start-up lines so that a
 * person at a terminal sees the banner (URLs, how to get a token) first, not after a screenful of start-up logs.
 */
export class HeldLogDestination implements pino.DestinationStream {
  private held: string[] | undefined = [];

  constructor(private readonly target: pino.DestinationStream) {}

  write(line: string): void {
    if (this.held) this.held.push(line);
    else this.target.write(line);
  }

  release(): void {
    const lines = this.held ?? [];
    this.held = undefined;
    for (const line of lines) this.target.write(line);
  }
}
