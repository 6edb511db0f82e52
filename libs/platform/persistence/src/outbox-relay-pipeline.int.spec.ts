import { DataSource } from 'typeorm';
import { contactUpsertedV1, eventCatalog } from '@mailbridge/contracts';
import type { BusHealth, EventBus, OutgoingEvent, Subscription } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import { createTestDatabase, expectEventually, TestDatabase } from '@mailbridge/testing';
import { createServiceDataSource, initializeServiceDataSource } from './data-source.factory';
import { OutboxRelay } from './outbox-relay';
import { UnitOfWork } from './unit-of-work';

/** A bus that accepts at once and delivers when the test says so (as the in-process bus, whose consumers take time). */
class HeldBus implements EventBus {
  readonly transport = 'in-process' as const;
  readonly accepted: string[][] = [];
  readonly deliveries: Array<() => void> = [];
  refuseBatch = -1;
  async publish(): Promise<void> {
    throw new Error('the relay uses publishAccepted when the bus has it');
  }
  async publishAccepted(events: readonly OutgoingEvent[]) {
    if (this.accepted.length === this.refuseBatch) throw new Error('refused');
    this.accepted.push(events.map((e) => e.envelope.key));
    return { delivered: new Promise<void>((resolve) => this.deliveries.push(resolve)) };
  }
  async subscribe(): Promise<Subscription> {
    return { stop: async () => undefined };
  }
  async health(): Promise<BusHealth> {
    return { ok: true };
  }
  async close() {
    this.deliveries.length = 0;
  }
}

const logger = createLogger({ service: 'test', level: 'silent' });
const contact = (id: string) => ({
  locationId: 'loc_a',
  contactId: id,
  email: `${id}@example.com`,
  name: null,
  assignedUserId: null,
  createdAt: '2026-11-01T00:00:00.000Z',
  revision: 1,
});

describe('outbox relay with a bus that accepts before it delivers (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let uow: UnitOfWork;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createServiceDataSource({ url: db.url, schema: 'svc', entities: [], migrations: [] });
    await initializeServiceDataSource(ds, { runMigrations: true });
    uow = new UnitOfWork(ds, eventCatalog);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });
  beforeEach(async () => {
    await ds.query('TRUNCATE svc.outbox, svc.inbox, svc.outbox_lease');
    // Ids 9..13: commit order is the ids' numeric order, not their text's ('10' < '9').
    await ds.query(`SELECT setval(pg_get_serial_sequence('svc.outbox', 'id'), 8)`);
    for (const id of ['a', 'b', 'c', 'd', 'e'])
      await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact(id)));
  });

  const outboxKeys = async () =>
    (
      (await ds.query(`SELECT envelope->>'key' AS key FROM svc.outbox ORDER BY id`)) as Array<{ key: string }>
    ).map((r) => r.key.replace('loc_a:', ''));
  const keys = (bus: HeldBus) => bus.accepted.map((b) => b.map((k) => k.replace('loc_a:', '')));

  it('appends the next batches while one is being delivered, in commit order, and deletes each only once delivered', async () => {
    const bus = new HeldBus();
    const relay = new OutboxRelay({ dataSource: ds, bus, logger, batchSize: 2, batchesInFlight: 2 });
    const drained = relay.drain();
    await expectEventually(() =>
      expect(keys(bus)).toEqual([
        ['a', 'b'],
        ['c', 'd'],
      ]),
    );
    expect(await outboxKeys()).toEqual(['a', 'b', 'c', 'd', 'e']); // nothing delivered yet: nothing deleted
    bus.deliveries[1](); // the second batch's consumers were faster
    await expectEventually(async () => expect(await outboxKeys()).toEqual(['a', 'b', 'e']));
    await expectEventually(() => expect(keys(bus)).toEqual([['a', 'b'], ['c', 'd'], ['e']]));
    bus.deliveries[0]();
    bus.deliveries[2]();
    expect(await drained).toBe(5);
    expect(await outboxKeys()).toEqual([]);
  });

  it('appends nothing after a refused batch and keeps every row not delivered', async () => {
    const bus = new HeldBus();
    bus.refuseBatch = 1;
    const relay = new OutboxRelay({ dataSource: ds, bus, logger, batchSize: 2, batchesInFlight: 3 });
    const drained = relay.drain();
    await expectEventually(() => expect(bus.deliveries).toHaveLength(1));
    bus.deliveries[0]();
    await expect(drained).rejects.toThrow('refused');
    expect(keys(bus)).toEqual([['a', 'b']]);
    expect(await outboxKeys()).toEqual(['c', 'd', 'e']);
  });
});
