import path from 'node:path';
import { eventCatalog } from '@mailbridge/contracts';
import { ConfigError, Env, loadConfig } from '@mailbridge/platform-config';
import { EventBus, KafkaEventBus } from '@mailbridge/platform-messaging';
import { ServiceMetrics, createLogger } from '@mailbridge/platform-observability';
import {
  createServiceDataSource,
  initializeServiceDataSource,
  startEmbeddedPostgres,
} from '@mailbridge/platform-persistence';
import type { ServiceDefinition } from './service-host';
import { StandaloneConfig, kafkaSecurityOf, standaloneConfigSchema } from './standalone.config';
import { startService } from './start-service';
import { trustExtraCaCertificatesFile } from './extra-ca-certificates';
import { assertSupportedNode } from './node-version';

/**
 * Entry point of a service running alone: validated configuration (one clear line and exit 1 when wrong), Kafka,
 * PostgreSQL, graceful shutdown on SIGTERM/SIGINT. `main.js migrate` only applies migrations and exits.
 */
export async function runStandalone(
  definition: ServiceDefinition,
  processEnv: Env = process.env,
): Promise<void> {
  assertSupportedNode(definition.name);
  let config: StandaloneConfig;
  try {
    config = loadConfig(standaloneConfigSchema, processEnv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({
    service: definition.name,
    level: config.LOG_LEVEL,
    format: config.LOG_FORMAT,
  });
  if (config.EXTRA_CA_CERTS_FILE) trustExtraCaCertificatesFile(config.EXTRA_CA_CERTS_FILE);
  let databaseUrl = config.DATABASE_URL;
  let stopEmbedded: () => Promise<void> = async () => undefined;
  try {
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres({
        dataDir: path.join(config.DATA_DIR, definition.name, 'pglite'),
      });
      databaseUrl = embedded.url;
      stopEmbedded = () => embedded.stop();
      logger.warn('DATABASE_URL is not set: using an embedded PGlite database in DATA_DIR');
    }
    if (process.argv[2] === 'migrate') {
      const ds = createServiceDataSource({
        url: databaseUrl,
        preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
        schema: definition.schema,
        entities: definition.entities,
        migrations: definition.migrations,
      });
      await initializeServiceDataSource(ds, { runMigrations: true, logger });
      await ds.destroy();
      await stopEmbedded();
      logger.info('migrations up to date');
      return;
    }
    // One registry for the service and its bus: the bus's series are served on the service's /metrics.
    const metrics = new ServiceMetrics(definition.name);
    const kafka = new KafkaEventBus({
      brokers: config.KAFKA_BROKERS,
      clientId: config.KAFKA_CLIENT_ID ?? definition.name,
      catalog: eventCatalog,
      logger: logger.child({ component: 'kafka' }),
      metrics,
      idempotent: config.KAFKA_IDEMPOTENT_PRODUCER,
      consumer: { maxWaitTimeMs: config.KAFKA_CONSUMER_MAX_WAIT_MS },
      ...kafkaSecurityOf(config),
    });
    await kafka.connect();
    const bus: EventBus = kafka;
    const running = await startService(definition, {
      name: definition.name,
      port: config.PORT ?? definition.defaultPort,
      host: config.HOST,
      databaseUrl,
      preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
      runMigrations: config.RUN_MIGRATIONS,
      bus,
      logger,
      metrics,
      auth: {
        jwtSecret: config.AUTH_JWT_SECRET,
        jwksUrl: config.AUTH_JWKS_URL,
        issuer: config.AUTH_JWT_ISSUER,
        audience: config.AUTH_JWT_AUDIENCE,
      },
      internalApiToken: config.INTERNAL_API_TOKEN,
      env: processEnv,
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      inboxRetentionDays: config.INBOX_RETENTION_DAYS,
    });
    let closing = false;
    const shutdown = async (signal: string) => {
      if (closing) return;
      closing = true;
      logger.info({ signal }, 'shutting down');
      await running.close();
      await bus.close();
      await stopEmbedded();
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
    } else {
      logger.fatal({ err: error }, 'failed to start');
    }
    await stopEmbedded().catch(() => undefined);
    process.exit(1);
  }
}
