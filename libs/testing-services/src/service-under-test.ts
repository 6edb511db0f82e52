import { randomBytes } from 'node:crypto';
import type { Env } from '@mailbridge/platform-config';
import type { EventBus } from '@mailbridge/platform-messaging';
import { createLogger, Logger } from '@mailbridge/platform-observability';
import { RunningService, ServiceDefinition, signCrmToken, startService } from '@mailbridge/platform-runtime';

export interface ServiceUnderTest extends RunningService {
  /** A CRM bearer token for this location and user. */
  token(locationId: string, userId: string): string;
  readonly internalApiToken: string;
  readonly logger: Logger;
}

export interface ServiceUnderTestOptions {
  readonly databaseUrl: string;
  readonly bus: EventBus;
  readonly env?: Env;
  readonly logLevel?: string;
  readonly authSecret?: string;
  readonly internalApiToken?: string;
}

/** Starts a real service (real Nest app on a free port, real database, the given bus) for an integration test. */
export async function startServiceUnderTest(
  definition: ServiceDefinition,
  options: ServiceUnderTestOptions,
): Promise<ServiceUnderTest> {
  const authSecret = options.authSecret ?? randomBytes(32).toString('hex');
  const internalApiToken = options.internalApiToken ?? randomBytes(32).toString('hex');
  const logger = createLogger({
    service: definition.name,
    level: options.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  const running = await startService(definition, {
    name: definition.name,
    port: 0,
    host: '127.0.0.1',
    databaseUrl: options.databaseUrl,
    runMigrations: true,
    bus: options.bus,
    logger,
    auth: { jwtSecret: authSecret },
    internalApiToken,
    env: options.env ?? {},
  });
  return {
    ...running,
    logger,
    internalApiToken,
    token: (locationId, userId) => signCrmToken(authSecret, { locationId, userId }),
  };
}
