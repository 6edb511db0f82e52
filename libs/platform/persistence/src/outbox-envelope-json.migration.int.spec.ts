import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { contactUpsertedV1, eventCatalog, type EventEnvelope } from '@mailbridge/contracts';
import { createLogger } from '@mailbridge/platform-observability';
import { createTestDatabase, type TestDatabase } from '@mailbridge/testing';
import { createServiceDataSource, initializeServiceDataSource } from './data-source.factory';
import { OutboxRelay } from './outbox-relay';
import { UnitOfWork } from './unit-of-work';
import { RecordingBus } from './testing/recording-bus';

const envelope = (contactId: string): EventEnvelope =>
  eventCatalog.create(contactUpsertedV1, {
    locationId: 'loc_a',
    contactId,
    email: `${contactId}@example.com`,
    name: 'Zoë "quoted" \\ back\nslash',
    assignedUserId: null,
    createdAt: '2026-11-01T00:00:00.000Z',
    revision: 1,
  });

const columnType = async (ds: DataSource) =>
  (
    await ds.query(
      `SELECT data_type FROM information_schema.columns
       WHERE table_schema = 'svc' AND table_name = 'outbox' AND column_name = 'envelope'`,
    )
  )[0].data_type as string;

/** What a writer of the version before (jsonb) inserted, the way it inserted it. */
const insertAsJsonb = (ds: DataSource, e: EventEnvelope) =>
  ds.query(
    `INSERT INTO svc.outbox (event_id, topic, event_key, envelope)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`,
    [[e.id], [contactUpsertedV1.topic], [e.key], [JSON.stringify(e)]],
  );

describe('outbox envelope as json (migration, real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createServiceDataSource({ url: db.url, schema: 'svc', entities: [], migrations: [] });
    await initializeServiceDataSource(ds, { runMigrations: true });
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });

  it('keeps the rows written before it, and the relay publishes them and new ones as the objects emitted', async () => {
    expect(await columnType(ds)).toBe('json');
    // The envelope's storage (PlatformOutboxEnvelopeStorage) came after it: undone first.
    await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await columnType(ds)).toBe('jsonb');
    const before = envelope(`c_${randomUUID()}`);
    await insertAsJsonb(ds, before);

    await ds.runMigrations({ transaction: 'each' });
    expect(await columnType(ds)).toBe('json');
    // A writer of the version before still inserts into the migrated column (jsonb casts to json on assignment).
    const oldWriter = envelope(`c_${randomUUID()}`);
    await insertAsJsonb(ds, oldWriter);
    let emitted: EventEnvelope | undefined;
    await new UnitOfWork(ds, eventCatalog).run(async (tx) => {
      emitted = tx.emit(contactUpsertedV1, {
        locationId: 'loc_a',
        contactId: 'c_new',
        email: 'c_new@example.com',
        name: null,
        assignedUserId: null,
        createdAt: '2026-11-01T00:00:00.000Z',
        revision: 1,
      });
    });

    const bus = new RecordingBus();
    const relay = new OutboxRelay({
      dataSource: ds,
      bus,
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    expect(await relay.drain()).toBe(3);
    expect(bus.published.map((p) => p.envelope)).toEqual([before, oldWriter, emitted]);
    expect(bus.published.map((p) => p.topic)).toEqual(Array(3).fill(contactUpsertedV1.topic));
    expect(Number((await ds.query('SELECT count(*)::int AS n FROM svc.outbox'))[0].n)).toBe(0);
  });
});
