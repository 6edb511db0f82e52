import { z } from 'zod';
import { env, kafkaBrokers } from '@mailbridge/platform-config';

/** Settings every service reads when it runs as its own process (distributed mode). */
export const standaloneConfigSchema = z
  .object({
    PORT: env.port(0).optional(),
    HOST: z.string().default('0.0.0.0'),
    LOG_LEVEL: env.logLevel(),
    LOG_FORMAT: env.logFormat(),
    /** PostgreSQL; unset = an embedded PGlite kept in DATA_DIR (single-machine use only). */
    DATABASE_URL: env.url(['postgres', 'postgresql']).optional(),
    DATA_DIR: z.string().default('.data'),
    /**
     * Hot statements as named prepared statements (parsed and planned once per connection). Turn off behind a pooler
     * in transaction mode without prepared-statement support (PgBouncer < 1.21, or without `max_prepared_statements`).
     */
    DATABASE_PREPARED_STATEMENTS: env.bool(true),
    /** Run pending migrations at start. Kubernetes runs them in a pre-upgrade Job instead (`main.js migrate`). */
    RUN_MIGRATIONS: env.bool(true),
    KAFKA_BROKERS: kafkaBrokers(),
    KAFKA_CLIENT_ID: z.string().optional(),
    /** Idempotent producer: broker-side deduplication of retries (keep on; the mock cluster grants ids too). */
    KAFKA_IDEMPOTENT_PRODUCER: env.bool(true),
    /**
     * Longest a consumer's fetch waits for new records. A broker answers as soon as records arrive, so this only
     * bounds idle fetches; the librdkafka mock cluster answers an empty fetch only after it (the bench lowers it).
     */
    KAFKA_CONSUMER_MAX_WAIT_MS: z.coerce.number().int().min(10).max(30_000).default(1_000),
    /** TLS to the brokers (system CAs plus EXTRA_CA_CERTS_FILE; broker host names verified). */
    KAFKA_SSL: env.bool(false),
    /** SASL authentication; with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD. Unset = none. */
    KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
    AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    AUTH_JWKS_URL: env.url(['https', 'http']).optional(),
    AUTH_JWT_ISSUER: z.string().optional(),
    AUTH_JWT_AUDIENCE: z.string().optional(),
    /** Shared credential of the /internal routes between services. */
    INTERNAL_API_TOKEN: z.string().min(32, 'must be at least 32 characters'),
    /** PEM file of extra CAs to trust (private endpoints, TLS-inspecting proxies, the sandbox emulators). */
    EXTRA_CA_CERTS_FILE: z.string().optional(),
    BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_048_576),
    /** Days a handled event id is kept for deduplication; longer than the topics' retention plus the worst lag. */
    INBOX_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  })
  .superRefine((c, ctx) => {
    if (c.KAFKA_SASL_MECHANISM && (!c.KAFKA_SASL_USERNAME || !c.KAFKA_SASL_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_SASL_MECHANISM'],
        message: 'needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD',
      });
    }
    if (!c.KAFKA_SASL_MECHANISM && (c.KAFKA_SASL_USERNAME || c.KAFKA_SASL_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: ['KAFKA_SASL_MECHANISM'],
        message:
          'must be set when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is (plain, scram-sha-256, scram-sha-512)',
      });
    }
    if (!c.AUTH_JWT_SECRET && !c.AUTH_JWKS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_JWT_SECRET'],
        message: 'or AUTH_JWKS_URL must be set (how CRM tokens are verified)',
      });
    }
  });

export type StandaloneConfig = z.infer<typeof standaloneConfigSchema>;

/** The broker security options of the Kafka bus (KafkaEventBusOptions), from the settings above. */
type SaslMechanism = NonNullable<StandaloneConfig['KAFKA_SASL_MECHANISM']>;
export interface KafkaSasl {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

export function kafkaSecurityOf(c: StandaloneConfig): { ssl?: true; sasl?: KafkaSasl } {
  return {
    ...(c.KAFKA_SSL ? { ssl: true as const } : {}),
    ...(c.KAFKA_SASL_MECHANISM && c.KAFKA_SASL_USERNAME && c.KAFKA_SASL_PASSWORD
      ? {
          sasl: {
            mechanism: c.KAFKA_SASL_MECHANISM,
            username: c.KAFKA_SASL_USERNAME,
            password: c.KAFKA_SASL_PASSWORD,
          },
        }
      : {}),
  };
}
