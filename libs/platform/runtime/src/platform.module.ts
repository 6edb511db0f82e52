import { DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { eventCatalog } from '@mailbridge/contracts';
import { ServiceMetrics } from '@mailbridge/platform-observability';
import {
  OutboxRelay,
  RetentionPruner,
  inboxRetention,
  UnitOfWork,
  createServiceDataSource,
  initializeServiceDataSource,
} from '@mailbridge/platform-persistence';
import { CrmAuthGuard, InternalAuthGuard } from './auth/auth.guards';
import { JwtVerifier } from './auth/jwt-verifier';
import { HealthController } from './http/health.controller';
import { registerPlatformGauges } from './platform-gauges';
import { EventSubscriptions } from './messaging/event-subscriptions';
import { EventQuarantine } from './messaging/event-quarantine';
import { InternalQuarantineController } from './http/internal-quarantine.controller';
import type { ServiceDefinition, ServiceHost } from './service-host';
import {
  EVENT_BUS,
  RETENTION_PRUNER,
  INTERNAL_API_TOKEN,
  JWT_VERIFIER,
  LOGGER,
  METRICS,
  OUTBOX_RELAY,
  PLATFORM_GAUGES,
  SERVICE_HOST,
  UNIT_OF_WORK,
} from './tokens';

/**
 * What every service gets from the platform: its database (own schema, migrations), unit of work + outbox relay,
 * the bus, logger, metrics, auth guards, health and metrics routes, @OnEvent discovery and the event quarantine
 * (`/internal/quarantine`).
 */
@Global()
@Module({})
export class PlatformModule {
  static forService(
    definition: ServiceDefinition,
    host: ServiceHost,
    metrics: ServiceMetrics,
  ): DynamicModule {
    const relayHolder: { relay?: OutboxRelay } = {};
    return {
      module: PlatformModule,
      imports: [
        DiscoveryModule,
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ retryAttempts: 3, retryDelay: 1000 }),
          dataSourceFactory: async () =>
            initializeServiceDataSource(
              createServiceDataSource({
                url: host.databaseUrl,
                schema: definition.schema,
                entities: definition.entities,
                migrations: definition.migrations,
                applicationName: definition.name,
                preparedStatements: host.preparedStatements,
              }),
              { runMigrations: host.runMigrations, logger: host.logger },
            ),
        }),
      ],
      controllers: [HealthController, InternalQuarantineController],
      providers: [
        { provide: SERVICE_HOST, useValue: host },
        { provide: LOGGER, useValue: host.logger },
        { provide: METRICS, useValue: metrics },
        { provide: EVENT_BUS, useValue: host.bus },
        { provide: INTERNAL_API_TOKEN, useValue: host.internalApiToken },
        { provide: JWT_VERIFIER, useFactory: () => new JwtVerifier(host.auth) },
        {
          provide: OUTBOX_RELAY,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) =>
            (relayHolder.relay = new OutboxRelay({
              dataSource,
              bus: host.bus,
              logger: host.logger,
              metrics,
              leaseMs: host.outboxLeaseMs,
            })),
        },
        {
          provide: RETENTION_PRUNER,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) =>
            new RetentionPruner({
              dataSource,
              logger: host.logger,
              rules: [inboxRetention(host.inboxRetentionDays ?? 30)],
            }),
        },
        {
          provide: UNIT_OF_WORK,
          inject: [DataSource, OUTBOX_RELAY],
          useFactory: (dataSource: DataSource, relay: OutboxRelay) =>
            new UnitOfWork(dataSource, eventCatalog, () => relay.nudge(), host.logger),
        },
        {
          provide: PLATFORM_GAUGES,
          inject: [DataSource],
          useFactory: (dataSource: DataSource) => registerPlatformGauges(metrics, dataSource, host.bus),
        },
        CrmAuthGuard,
        InternalAuthGuard,
        EventQuarantine,
        EventSubscriptions,
      ],
      exports: [
        SERVICE_HOST,
        LOGGER,
        METRICS,
        EVENT_BUS,
        INTERNAL_API_TOKEN,
        JWT_VERIFIER,
        OUTBOX_RELAY,
        UNIT_OF_WORK,
        CrmAuthGuard,
        InternalAuthGuard,
      ],
    };
  }
}
