import type { Server } from 'node:net';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import type { EventBus } from '@mailbridge/platform-messaging';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import type { Env } from '@mailbridge/platform-config';
import type { RetentionRule } from '@mailbridge/platform-persistence';
import type { AuthConfig } from './auth/jwt-verifier';

/* eslint-disable @typescript-eslint/no-unsafe-function-type -- TypeORM's entity and migration lists are Function[] */
/** What a service is: declared once in each app, hosted alone (distributed) or with the others (embedded). */
export interface ServiceDefinition {
  readonly name: 'identity-connections' | 'mail-gateway' | 'sync-engine' | 'conversations';
  /** Its own PostgreSQL schema. */
  readonly schema: string;
  readonly defaultPort: number;
  /** The app's root feature module (controllers, consumers, use cases). */
  readonly module: Type | DynamicModule;
  readonly entities: Function[];
  readonly migrations: Function[];
  readonly openApi: { readonly title: string; readonly description: string };
  /**
   * Routes that accept a larger JSON body than the service-wide limit (e.g. inline attachments), resolved once the
   * application exists so they can come from the service's configuration. Express path patterns.
   */
  readonly jsonBodyLimits?: (app: INestApplication) => ReadonlyArray<{ path: string; limitBytes: number }>;
  /** Extra set-up on the Nest application before it listens. */
  readonly configure?: (app: INestApplication) => void;
  /** The service's own tables whose rows expire (the platform already prunes the inbox), from its configuration. */
  readonly retention?: (app: INestApplication) => readonly RetentionRule[];
  /**
   * Listeners the service opened besides HTTP (e.g. mail-gateway's Auto-BCC SMTP receiver), once it has started:
   * what a launcher reports (the port the OS gave, or why it is off).
   */
  readonly listeners?: (app: INestApplication) => readonly ServiceListener[];
}

/** A listener besides HTTP: its URL when listening, or why it is not. */
export type ServiceListener =
  { readonly name: string; readonly url: string } | { readonly name: string; readonly off: string };
/* eslint-enable @typescript-eslint/no-unsafe-function-type */

/** What the hosting process gives a service: where to listen, its database, the bus, shared settings. */
export interface ServiceHost {
  readonly name: ServiceDefinition['name'];
  readonly port: number;
  /**
   * A socket the host already bound (e.g. to port 0: the embedded launcher binds first and reads the port the OS gave,
   * so no other process can take it between choosing and listening). The service listens on it instead of `port`.
   */
  readonly listenOn?: Server;
  readonly host?: string;
  readonly databaseUrl: string;
  /** Named prepared statements on a real server (`DATABASE_PREPARED_STATEMENTS`); default on. */
  readonly preparedStatements?: boolean;
  readonly runMigrations: boolean;
  readonly bus: EventBus;
  readonly logger: Logger;
  /**
   * The service's Prometheus registry (served on its `/metrics`), when the host made it: the host gives the same one
   * to the bus, so the bus's series are served too. Default: a new one.
   */
  readonly metrics?: ServiceMetrics;
  readonly auth: AuthConfig;
  readonly internalApiToken: string;
  /** Service-specific settings are read from here (process.env when standalone). */
  readonly env: Env;
  /** Largest JSON body accepted (bytes). */
  readonly bodyLimitBytes?: number;
  /** How long handled event ids stay in the inbox (days, default 30): longer than any redelivery can come. */
  readonly inboxRetentionDays?: number;
  /**
   * How long the outbox relay's lease outlives its last renewal (ms, default 15 000). A host that is the only process on
   * its database (embedded) keeps it short: after a kill -9 the restarted relay would otherwise wait out the lease of
   * the relay that died.
   */
  readonly outboxLeaseMs?: number;
}
