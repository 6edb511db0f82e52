import type { DataSource } from 'typeorm';
import { contactUpsertedV1, eventCatalog, type EventEnvelope } from '@mailbridge/contracts';
import { createLogger } from '@mailbridge/platform-observability';
import { createTestDatabase, type TestDatabase } from '@mailbridge/testing';
import { createServiceDataSource, initializeServiceDataSource } from './data-source.factory';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { OutboxRelay } from './outbox-relay';
import { RecordingBus } from './testing/recording-bus';

/** Prose-like words, so the envelope compresses as real mail does (a compressor keeps a value only if it shrank). */
const words =
  'the contact asked about the proposal and the delivery date for next quarter thanks regards'.split(' ');
const bigName = (kb: number) => {
  let seed = 7;
  const out: string[] = [];
  for (let size = 0; size < kb * 1024;) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const w = words[seed % words.length];
    out.push(w);
    size += w.length + 1;
  }
  return out.join(' ');
};

/**
 * Writes an envelope of about 64 KB into the outbox (as a service's unit of work does). Its payload is grown after
 * validation: no event of the catalog but an observed message carries that much, and the storage is what is tested.
 */
async function insertLarge(ds: DataSource): Promise<EventEnvelope> {
  const envelope = eventCatalog.create(contactUpsertedV1, {
    locationId: 'loc_a',
    contactId: 'c_big',
    email: 'c_big@example.com',
    name: null,
    assignedUserId: null,
    createdAt: '2026-11-01T00:00:00.000Z',
    revision: 1,
  });
  const large = { ...envelope, payload: { ...envelope.payload, name: bigName(64) } };
  await ds.query(
    `INSERT INTO svc.outbox (event_id, topic, event_key, envelope) VALUES ($1, $2, $3, $4::json)`,
    [large.id, contactUpsertedV1.topic, large.key, JSON.stringify(large)],
  );
  return large;
}

/** How the newest outbox row's envelope is stored: its compression method (null: stored uncompressed). */
const storedCompression = async (ds: DataSource) =>
  (await ds.query(`SELECT pg_column_compression(envelope) AS c FROM svc.outbox ORDER BY id DESC LIMIT 1`))[0]
    .c as string | null;

const serverHasLz4 = async (ds: DataSource) =>
  (
    await ds.query(
      `SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`,
    )
  )[0].lz4 as boolean;

async function relayedEnvelopes(ds: DataSource): Promise<EventEnvelope[]> {
  const bus = new RecordingBus();
  const relay = new OutboxRelay({
    dataSource: ds,
    bus,
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
  await relay.drain();
  return bus.published.map((p) => p.envelope);
}

describe('outbox envelope storage (migration): a large envelope is not pglz-compressed (issue 16)', () => {
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

  it('PostgreSQL with lz4: the envelope is lz4-compressed (pglz before the migration), and relayed unchanged', async () => {
    // The server of these tests is built with lz4 (PostgreSQL 14+ from the distributions); the test says if not.
    expect(await serverHasLz4(ds)).toBe(true);
    await ds.undoLastMigration({ transaction: 'each' });
    const before = await insertLarge(ds);
    expect(await storedCompression(ds)).toBe('pglz');

    await ds.runMigrations({ transaction: 'each' });
    const after = await insertLarge(ds);
    expect(await storedCompression(ds)).toBe('lz4');
    expect(await relayedEnvelopes(ds)).toEqual([before, after]);
  });
});

describe('outbox envelope storage on PGlite (no lz4): kept uncompressed', () => {
  let pg: EmbeddedPostgres;
  let ds: DataSource;

  beforeAll(async () => {
    pg = await startEmbeddedPostgres();
    ds = createServiceDataSource({ url: pg.url, schema: 'svc', entities: [], migrations: [] });
    await initializeServiceDataSource(ds, { runMigrations: true });
  });
  afterAll(async () => {
    await ds.destroy();
    await pg.stop();
  });

  it('stores the envelope without compression, was pglz before, and relays it unchanged', async () => {
    expect(await serverHasLz4(ds)).toBe(false);
    await ds.undoLastMigration({ transaction: 'each' });
    const before = await insertLarge(ds);
    expect(await storedCompression(ds)).toBe('pglz');

    await ds.runMigrations({ transaction: 'each' });
    const after = await insertLarge(ds);
    expect(await storedCompression(ds)).toBeNull();
    expect(await relayedEnvelopes(ds)).toEqual([before, after]);
  });
});
