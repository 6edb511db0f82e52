import { Client } from 'pg';
import request from 'supertest';
import { EventEnvelope, eventCatalog, Topics } from '@mailbridge/contracts';
import type { EventBus } from '@mailbridge/platform-messaging';
import { InProcessEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import { TestDatabase, createTestDatabase, expectEventually } from '@mailbridge/testing';
import { EventLog, ServiceUnderTest, startServiceUnderTest } from '@mailbridge/testing-services';
import { syncEngineService } from '../service';

/** What sync-engine publishes, as another service would see it. */
export const OUTPUT_TOPICS = [
  Topics.syncMessages,
  Topics.mailSend,
  Topics.syncSendRefusals,
  Topics.syncContactRequests,
  Topics.syncDecisions,
];

export interface Harness {
  readonly service: ServiceUnderTest;
  readonly db: TestDatabase;
  readonly bus: EventBus;
  readonly log: EventLog;
  /** Publishes as the producing service would; on the in-process bus it resolves once sync-engine handled it. */
  publish(...events: EventEnvelope[]): Promise<void>;
  /** Waits until sync-engine's outbox is empty (everything it decided has been published). */
  drained(): Promise<void>;
  get(path: string, query: Record<string, string>): request.Test;
  close(): Promise<void>;
}

/** sync-engine on a fresh database and an in-process bus, with a consumer recording what it publishes. */
export async function startInProcessHarness(env: Record<string, string> = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const bus = new InProcessEventBus({
    catalog: eventCatalog,
    logger: createLogger({ service: 'bus', level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    retry: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 100 },
  });
  return startHarness(db, bus, env);
}

export async function startHarness(
  db: TestDatabase,
  bus: EventBus,
  env: Record<string, string> = {},
): Promise<Harness> {
  const service = await startServiceUnderTest(syncEngineService, { databaseUrl: db.url, bus, env });
  const log = new EventLog();
  const subscription = await bus.subscribe({
    groupId: 'test.observer',
    topics: OUTPUT_TOPICS,
    handler: async (event) => {
      log.events.push(event);
    },
  });
  const http = () => request(service.app.getHttpServer());
  return {
    service,
    db,
    bus,
    log,
    publish: (...events) =>
      bus.publish(
        events.map((envelope) => ({
          topic: eventCatalog.find(envelope.type, envelope.version)!.topic,
          envelope,
        })),
      ),
    drained: () =>
      expectEventually(async () => {
        const { rows } = await queryDb(db.url, 'SELECT count(*)::int AS n FROM sync_engine.outbox');
        expect(rows[0].n).toBe(0);
      }),
    get: (path, query) =>
      http().get(path).query(query).set('Authorization', `Bearer ${service.internalApiToken}`),
    async close() {
      await subscription.stop();
      await service.close();
      await bus.close();
      await db.drop();
    },
  };
}

export async function queryDb(url: string, sql: string, params: unknown[] = []) {
  const client = new Client(url);
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}
