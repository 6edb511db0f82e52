import type { DataSource } from 'typeorm';
import { contactUpsertedV1, eventCatalog, type EventEnvelope } from '@mailbridge/contracts';
import { createLogger } from '@mailbridge/platform-observability';
import { createTestDatabase } from '@mailbridge/testing';
import { createServiceDataSource, initializeServiceDataSource } from './data-source.factory';
import { startEmbeddedPostgres } from './embedded-postgres';
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

/** A database of each kind the platform runs on: the tests' PostgreSQL server (built with lz4), and PGlite (without). */
const databases = [
  {
    name: 'PostgreSQL with lz4: lz4-compressed',
    start: async () => {
      const db = await createTestDatabase();
      return { url: db.url, stop: () => db.drop() };
    },
    lz4: true,
    after: 'lz4',
  },
  {
    name: 'PGlite, no lz4: kept uncompressed',
    start: async () => {
      const pg = await startEmbeddedPostgres();
      return { url: pg.url, stop: () => pg.stop() };
    },
    lz4: false,
    after: null,
  },
];

describe.each(databases)(
  'outbox envelope storage (migration, issue 16) on $name',
  ({ start, lz4, after }) => {
    let stop: () => Promise<void>;
    let ds: DataSource;

    beforeAll(async () => {
      const db = await start();
      stop = db.stop;
      ds = createServiceDataSource({ url: db.url, schema: 'svc', entities: [], migrations: [] });
      await initializeServiceDataSource(ds, { runMigrations: true });
    });
    afterAll(async () => {
      await ds.destroy();
      await stop();
    });

    it('a large envelope is no longer pglz-compressed (it was before the migration), and is relayed unchanged', async () => {
      expect(await serverHasLz4(ds)).toBe(lz4);
      await ds.undoLastMigration({ transaction: 'each' });
      const before = await insertLarge(ds);
      expect(await storedCompression(ds)).toBe('pglz');

      await ds.runMigrations({ transaction: 'each' });
      const written = await insertLarge(ds);
      expect(await storedCompression(ds)).toBe(after);
      expect(await relayedEnvelopes(ds)).toEqual([before, written]);
    });
  },
);
