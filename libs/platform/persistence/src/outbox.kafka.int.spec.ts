import { DataSource } from 'typeorm';
import { EventEnvelope, Topics, contactUpsertedV1, eventCatalog } from '@mailbridge/contracts';
import { KafkaEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import {
  KafkaMockCluster,
  TestDatabase,
  createTestDatabase,
  expectEventually,
  startKafkaMockCluster,
} from '@mailbridge/testing';
import { createServiceDataSource, initializeServiceDataSource } from './data-source.factory';
import { OutboxRelay } from './outbox-relay';
import { UnitOfWork } from './unit-of-work';

const logger = createLogger({ service: 'test', level: 'silent' });
const contact = (id: string) => ({
  locationId: 'loc_k',
  contactId: id,
  email: `${id}@example.com`,
  name: null,
  assignedUserId: null,
  createdAt: '2026-11-01T00:00:00.000Z',
  revision: 1,
});

/** The outbox guarantees with the real transport: PostgreSQL + the Kafka mock cluster. */
describe('transactional outbox over Kafka', () => {
  let kafka: KafkaMockCluster;
  let db: TestDatabase;
  let ds: DataSource;
  let producerBus: KafkaEventBus;
  let consumerBus: KafkaEventBus;
  const received: EventEnvelope[] = [];

  beforeAll(async () => {
    [kafka, db] = await Promise.all([startKafkaMockCluster(), createTestDatabase()]);
    ds = createServiceDataSource({ url: db.url, schema: 'svc', entities: [], migrations: [] });
    await initializeServiceDataSource(ds, { runMigrations: true });
    const bus = (clientId: string) =>
      new KafkaEventBus({
        brokers: kafka.bootstrapServers,
        clientId,
        catalog: eventCatalog,
        logger,
        idempotent: false,
      });
    producerBus = bus('producer');
    consumerBus = bus('consumer');
    await consumerBus.subscribe({
      groupId: 'test.outbox-consumer',
      topics: [Topics.conversationsContacts],
      handler: async (e) => void received.push(e),
    });
  });
  afterAll(async () => {
    await producerBus?.close();
    await consumerBus?.close();
    await ds?.destroy();
    await db?.drop();
    await kafka?.stop();
  });

  it('a rolled-back transaction publishes nothing; the committed one after it arrives, once', async () => {
    const uow = new UnitOfWork(ds, eventCatalog);
    await expect(
      uow.run(async (tx) => {
        tx.emit(contactUpsertedV1, contact('rolled-back'));
        throw new Error('rule failed');
      }),
    ).rejects.toThrow('rule failed');
    await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact('committed')));
    const relay = new OutboxRelay({ dataSource: ds, bus: producerBus, logger, pollIntervalMs: 50 });
    relay.start();
    await expectEventually(() => expect(received.map((e) => e.key)).toContain('loc_k:committed'), {
      timeoutMs: 30_000,
    });
    await relay.stop();
    expect(received.map((e) => e.key)).not.toContain('loc_k:rolled-back');
    expect(received.filter((e) => e.key === 'loc_k:committed')).toHaveLength(1);
  });

  it('a relay that died after the commit (before publishing) publishes the event when the service starts again', async () => {
    const uow = new UnitOfWork(ds, eventCatalog);
    // Committed while no relay runs: the process died right after the commit.
    const envelope = await uow.run(async (tx) => tx.emit(contactUpsertedV1, contact('after-crash')));
    expect(received.map((e) => e.id)).not.toContain(envelope.id);
    const restarted = new OutboxRelay({ dataSource: ds, bus: producerBus, logger, pollIntervalMs: 50 });
    restarted.start();
    await expectEventually(() => expect(received.map((e) => e.id)).toContain(envelope.id), {
      timeoutMs: 30_000,
    });
    await restarted.stop();
    expect(Number((await ds.query('SELECT count(*)::int AS n FROM svc.outbox'))[0].n)).toBe(0);
  });
});
