import { z } from 'zod';

/** A configuration problem, named by the environment variable that causes it. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/**
 * Validates environment variables once, at boot. A schema's keys are the variable names, so an error can always name
 * the variable. Empty strings count as unset (a blank line in a .env file or a Helm value must not mean "configured").
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    input[key] = value === undefined || value.trim() === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const variable = String(issue.path[0] ?? '(config)');
  const received = input[variable];
  const problem =
    received === undefined && (issue.code === 'invalid_type' || issue.message.includes('required'))
      ? 'is required but not set'
      : issue.message;
  throw new ConfigError(variable, problem);
}

/** Variables every service reads. Kept small: each service extends it with its own. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  url: (protocols: readonly string[]) =>
    z.string().refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      { message: `must be a ${protocols.map((p) => `${p}://`).join(' or ')} URL` },
    ),
  list: () =>
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string()).min(1, 'must list at least one value')),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: human-readable lines when stdout is a terminal, JSON otherwise; `json` or `pretty` to choose. */
  logFormat: () => z.enum(['auto', 'json', 'pretty']).default('auto'),
};

/**
 * Kafka broker list "host:port,host:port": validated here so a typo fails at boot, not at first publish.
 */
export const kafkaBrokers = () =>
  env
    .list()
    .pipe(
      z.array(z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be a comma-separated list of host:port')),
    );
