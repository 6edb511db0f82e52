import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { EventDefinition, EventEnvelope, PayloadOf, Topics, eventCatalog } from '@mailbridge/contracts';
import type { Env } from '@mailbridge/platform-config';
import { InProcessEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import { TestDatabase, createTestDatabase } from '@mailbridge/testing';
import { ServiceUnderTest, startServiceUnderTest } from '@mailbridge/testing-services';
import { conversationsService } from '../service';

/**
 * The real conversations app on a real database and an in-process bus; the test plays the other services by
 * publishing their events and records what conversations publishes.
 */
export interface Harness {
  readonly svc: ServiceUnderTest;
  readonly db: TestDatabase;
  readonly bus: InProcessEventBus;
  readonly objectDir: string;
  /** Everything conversations published on its own topics, in order. */
  readonly published: EventEnvelope[];
  http(): ReturnType<typeof request>;
  /** Publishes as another service would; resolves once conversations has handled it. */
  publish<D extends EventDefinition>(def: D, payload: PayloadOf<D>): Promise<EventEnvelope<PayloadOf<D>>>;
  republish(envelope: EventEnvelope): Promise<void>;
  /** Reads the service's tables directly (assertions only). */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function startHarness(env: Env = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const objectDir = await mkdtemp(path.join(tmpdir(), 'mb-conv-objects-'));
  const bus = new InProcessEventBus({
    catalog: eventCatalog,
    logger: createLogger({ service: 'bus', level: 'silent' }),
    retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
  });
  const published: EventEnvelope[] = [];
  await bus.subscribe({
    groupId: 'test.recorder',
    topics: [
      Topics.conversationsOutbound,
      Topics.conversationsContacts,
      Topics.conversationsActivity,
      Topics.settingsSyncExclusions,
    ],
    handler: async (e) => void published.push(e),
  });
  const svc = await startServiceUnderTest(conversationsService, {
    databaseUrl: db.url,
    bus,
    env: { OBJECT_STORE_DIR: objectDir, ...env },
  });
  const topicOf = (type: string, version: number) => {
    const def = eventCatalog.find(type, version);
    if (!def) throw new Error(`unknown event ${type}@${version}`);
    return def.topic;
  };
  return {
    svc,
    db,
    bus,
    objectDir,
    published,
    http: () => request(svc.app.getHttpServer()),
    async publish(def, payload) {
      const envelope = eventCatalog.create(def, payload);
      await bus.publish([{ topic: def.topic, envelope }]);
      return envelope;
    },
    async republish(envelope) {
      await bus.publish([{ topic: topicOf(envelope.type, envelope.version), envelope }]);
    },
    sql: (text, params) => query(db.url, text, params),
    async close() {
      await svc?.close();
      await bus?.close();
      await db?.drop();
      await rm(objectDir, { recursive: true, force: true });
    },
  };
}

export async function query<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client(url);
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}
