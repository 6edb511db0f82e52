import { DataSource, MixedList, EntitySchema } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';
import type { Logger } from '@mailbridge/platform-observability';
import { PlatformTables1732400000000 } from './platform-tables.migration';
import { PlatformQuarantine1732650000000 } from './quarantine.migration';
import { PlatformOutboxEnvelopeJson1732660000000 } from './outbox-envelope-json.migration';
import { PlatformOutboxEnvelopeStorage1732670000000 } from './outbox-envelope-storage.migration';
import { isSharedSessionUrl } from './embedded-postgres';

/* eslint-disable @typescript-eslint/no-unsafe-function-type -- TypeORM's own option types use Function */
export interface ServiceDataSourceOptions {
  readonly url: string;
  /** The service's own schema: every entity and platform table of the service lives in it. */
  readonly schema: string;
  readonly entities: MixedList<Function | string | EntitySchema>;
  /** The service's migrations, oldest first. The platform tables (outbox, inbox, quarantine) are prepended. */
  readonly migrations: MixedList<Function | string>;
  readonly poolSize?: number;
  /**
   * How long an idle pool connection stays open (default {@link POOL_IDLE_TIMEOUT_MS}). pg's own default, 10 s, closed
   * most of a pool after every quiet spell: the next burst then opened new server sessions, each loading its catalog
   * caches and parsing and planning its statements again, named prepared ones included (issue 16).
   */
  readonly poolIdleTimeoutMs?: number;
  readonly applicationName?: string;
  /**
   * Named prepared statements for the hot statements (`queryPrepared`); default on for a real server, always off on an
   * embedded PGlite server. Off behind a pooler that moves a session's statements between server connections
   * (PgBouncer in transaction mode without `max_prepared_statements`): a statement prepared on one would be missing on
   * the next.
   */
  readonly preparedStatements?: boolean;
}
/* eslint-enable @typescript-eslint/no-unsafe-function-type */

/** The service schema a DataSource was created for. */
export function schemaOf(dataSource: DataSource): string {
  const schema = (dataSource.options as PostgresConnectionOptions).schema;
  if (!schema) throw new Error('DataSource has no schema: create it with createServiceDataSource');
  return schema;
}

/** Data sources on a server where each connection is its own session (see `preparesStatements`). */
const ownSessions = new WeakSet<DataSource>();

/**
 * True when named prepared statements are safe on this data source: a real PostgreSQL server, where each pool
 * connection is its own session. Not on an embedded PGlite server, whose connections share one session (two
 * connections preparing the same name would collide, and a closed connection's statements would stay behind).
 */
export function preparesStatements(dataSource: DataSource): boolean {
  return ownSessions.has(dataSource);
}

/**
 * A minute: longer than the quiet spells between bursts of a working service, shorter than the idle timeouts of the
 * NATs and load balancers between a pod and a managed PostgreSQL (4 minutes and more), which drop a silent connection.
 * Fixed, not a setting. The pool hands out the connection released last first, so only as many stay open as the
 * service kept busy in the last minute.
 */
export const POOL_IDLE_TIMEOUT_MS = 60_000;

export const SCHEMA_NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function createServiceDataSource(options: ServiceDataSourceOptions): DataSource {
  if (!SCHEMA_NAME.test(options.schema)) throw new Error(`Invalid schema name "${options.schema}"`);
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    entities: options.entities,
    migrations: [
      PlatformTables1732400000000,
      PlatformQuarantine1732650000000,
      PlatformOutboxEnvelopeJson1732660000000,
      PlatformOutboxEnvelopeStorage1732670000000,
      ...(options.migrations as unknown[] as never[]),
    ],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    uuidExtension: 'pgcrypto',
    extra: {
      max: options.poolSize ?? 10,
      idleTimeoutMillis: options.poolIdleTimeoutMs ?? POOL_IDLE_TIMEOUT_MS,
      // TCP keepalive on an idle connection: a NAT on the way keeps its mapping, and a peer gone without a reset is
      // noticed by the kernel instead of hanging the next query.
      keepAlive: true,
      keepAliveInitialDelayMillis: 30_000,
      application_name: options.applicationName ?? options.schema,
    },
    logging: false,
  });
  if ((options.preparedStatements ?? true) && !isSharedSessionUrl(options.url)) ownSessions.add(dataSource);
  return dataSource;
}

/**
 * Connects and brings the schema up to date (migrations only, never `synchronize`).
 * The schema itself is created first because TypeORM keeps its migrations table inside it.
 */
export async function initializeServiceDataSource(
  dataSource: DataSource,
  options: { runMigrations: boolean; logger?: Logger },
): Promise<DataSource> {
  if (!dataSource.isInitialized) await dataSource.initialize();
  const schema = schemaOf(dataSource);
  await dataSource.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  if (options.runMigrations) {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length)
      options.logger?.info({ schema, migrations: applied.map((m) => m.name) }, 'migrations applied');
  } else if (await dataSource.showMigrations()) {
    throw new Error(
      `Schema "${schema}" has pending migrations: run the migrations job (or start with RUN_MIGRATIONS=true) first`,
    );
  }
  return dataSource;
}
