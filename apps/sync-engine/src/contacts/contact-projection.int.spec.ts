import { Client } from 'pg';
import request from 'supertest';
import { EventEnvelope, contactDeletedV1, contactUpsertedV1, eventCatalog } from '@mailbridge/contracts';
import { KafkaEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import {
  KafkaMockCluster,
  TestDatabase,
  createTestDatabase,
  expectEventually,
  startKafkaMockCluster,
} from '@mailbridge/testing';
import { ServiceUnderTest, startServiceUnderTest } from '@mailbridge/testing-services';
import { syncEngineService } from '../service';

const upserted = (
  contactId: string,
  revision: number,
  over: Partial<{ email: string; assignedUserId: string | null; createdAt: string }> = {},
) =>
  eventCatalog.create(contactUpsertedV1, {
    locationId: 'loc_k',
    contactId,
    email: over.email ?? `${contactId}@Example.com`,
    name: null,
    assignedUserId: over.assignedUserId === undefined ? 'usr_1' : over.assignedUserId,
    createdAt: over.createdAt ?? '2026-01-02T00:00:00.000Z',
    revision,
  });

describe('sync-engine contact projection, fed over Kafka (mock cluster + PostgreSQL)', () => {
  let kafka: KafkaMockCluster;
  let db: TestDatabase;
  let syncEngine: ServiceUnderTest;
  let consumerBus: KafkaEventBus;
  let producer: KafkaEventBus;

  beforeAll(async () => {
    kafka = await startKafkaMockCluster();
    db = await createTestDatabase();
    const bus = (clientId: string) =>
      new KafkaEventBus({
        brokers: kafka.bootstrapServers,
        clientId,
        catalog: eventCatalog,
        logger: createLogger({ service: clientId, level: 'silent' }),
        // The mock cluster cannot hand out producer ids (see KafkaEventBus); production keeps idempotence on.
        idempotent: false,
      });
    consumerBus = bus('sync-engine');
    producer = bus('conversations');
    syncEngine = await startServiceUnderTest(syncEngineService, { databaseUrl: db.url, bus: consumerBus });
  });
  afterAll(async () => {
    await syncEngine?.close();
    await consumerBus?.close();
    await producer?.close();
    await db?.drop();
    await kafka?.stop();
  });

  const publish = (...events: EventEnvelope[]) =>
    producer.publish(events.map((envelope) => ({ topic: contactUpsertedV1.topic, envelope })));

  /** Waits until sync-engine has handled these events (its inbox holds their ids). */
  const handled = async (...events: EventEnvelope[]) => {
    const pg = new Client(db.url);
    await pg.connect();
    try {
      await expectEventually(async () => {
        const { rows } = await pg.query(
          'SELECT event_id FROM sync_engine.inbox WHERE event_id = ANY($1::uuid[])',
          [events.map((e) => e.id)],
        );
        expect(rows).toHaveLength(events.length);
      });
    } finally {
      await pg.end();
    }
  };

  const projection = async (email?: string) =>
    (
      await request(syncEngine.app.getHttpServer())
        .get('/internal/contacts')
        .query({ locationId: 'loc_k', ...(email ? { email } : {}) })
        .set('Authorization', `Bearer ${syncEngine.internalApiToken}`)
        .expect(200)
    ).body.items as Array<{
      contactId: string;
      email: string;
      assignedUserId: string | null;
      revision: number;
    }>;

  it('ADR-5: keeps each contact by location and lower-cased address, with its assignee and creation time', async () => {
    await publish(upserted('ct_1', 1, { email: 'Ann.Lee+crm@Example.COM' }));
    await expectEventually(
      async () =>
        expect(await projection()).toEqual([
          {
            locationId: 'loc_k',
            contactId: 'ct_1',
            email: 'ann.lee+crm@example.com',
            assignedUserId: 'usr_1',
            createdAt: '2026-01-02T00:00:00.000Z',
            revision: 1,
          },
        ]),
      { timeoutMs: 30_000 },
    );
  });

  it('ADR-3: lists contacts sharing an address first-created first', async () => {
    await publish(
      upserted('ct_late', 1, { email: 'shared@example.com', createdAt: '2026-03-02T00:00:00.000Z' }),
      upserted('ct_early', 1, { email: 'SHARED@example.com', createdAt: '2026-03-01T00:00:00.000Z' }),
    );
    await expectEventually(async () =>
      expect((await projection('shared@example.com')).map((c) => c.contactId)).toEqual([
        'ct_early',
        'ct_late',
      ]),
    );
  });

  it('applies each event once and never lets an older revision overwrite a newer one (redelivery, reordering)', async () => {
    const v2 = upserted('ct_2', 2, { assignedUserId: 'usr_new' });
    const v1 = upserted('ct_2', 1, { assignedUserId: 'usr_old' });
    await publish(v2, v2, v1);
    await handled(v2, v1);
    const ct2 = (await projection()).find((c) => c.contactId === 'ct_2');
    expect(ct2).toMatchObject({ assignedUserId: 'usr_new', revision: 2 });
  });

  it('a deletion removes the contact from matching, and a late older upsert does not bring it back', async () => {
    await publish(upserted('ct_3', 1));
    await expectEventually(async () =>
      expect((await projection()).map((c) => c.contactId)).toContain('ct_3'),
    );
    const deleted = eventCatalog.create(contactDeletedV1, {
      locationId: 'loc_k',
      contactId: 'ct_3',
      revision: 2,
    });
    const late = upserted('ct_3', 1);
    await publish(deleted, late);
    await handled(deleted, late);
    expect((await projection()).map((c) => c.contactId)).not.toContain('ct_3');
  });

  it('the internal route refuses callers without the service credential', async () => {
    const res = await request(syncEngine.app.getHttpServer())
      .get('/internal/contacts')
      .query({ locationId: 'loc_k' })
      .set('Authorization', `Bearer ${syncEngine.token('loc_k', 'usr_1')}`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_service_credential');
  });
});
