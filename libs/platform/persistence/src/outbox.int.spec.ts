import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, MigrationInterface, QueryRunner } from 'typeorm';
import { contactUpsertedV1, eventCatalog, EventEnvelope } from '@mailbridge/contracts';
import { createLogger, runWithContext } from '@mailbridge/platform-observability';
import { createTestDatabase, expectEventually, TestDatabase } from '@mailbridge/testing';
import { createServiceDataSource, initializeServiceDataSource, schemaOf } from './data-source.factory';
import { RetentionPruner, inboxRetention } from './retention-pruner';
import { OutboxRelay } from './outbox-relay';
import { UnitOfWork } from './unit-of-work';
import { RecordingBus } from './testing/recording-bus';

class Notes1700000000000 implements MigrationInterface {
  name = 'Notes1700000000000';
  async up(q: QueryRunner) {
    await q.query(`CREATE TABLE "${schemaOf(q.connection)}".notes (id text PRIMARY KEY)`);
  }
  async down(q: QueryRunner) {
    await q.query(`DROP TABLE "${schemaOf(q.connection)}".notes`);
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

describe('transactional outbox and inbox (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let uow: UnitOfWork;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createServiceDataSource({
      url: db.url,
      schema: 'svc',
      entities: [],
      migrations: [Notes1700000000000],
    });
    await initializeServiceDataSource(ds, { runMigrations: true });
    uow = new UnitOfWork(ds, eventCatalog);
  });
  afterAll(async () => {
    await ds.destroy();
    await db.drop();
  });
  beforeEach(async () => {
    await ds.query('TRUNCATE svc.notes, svc.outbox, svc.inbox, svc.outbox_lease');
  });

  const outboxCount = async () => Number((await ds.query('SELECT count(*)::int AS n FROM svc.outbox'))[0].n);

  it('commits the state change and its event together; the relay publishes it once and empties the outbox', async () => {
    await uow.run(async (tx) => {
      await tx.manager.query(`INSERT INTO svc.notes (id) VALUES ('n1')`);
      tx.emit(contactUpsertedV1, contact('c1'));
    });
    expect(await outboxCount()).toBe(1);
    const bus = new RecordingBus();
    const relay = new OutboxRelay({ dataSource: ds, bus, logger });
    expect(await relay.drain()).toBe(1);
    expect(bus.published).toHaveLength(1);
    expect(bus.published[0].topic).toBe('conversations.contacts.v1');
    expect(eventCatalog.parse(bus.published[0].envelope).payload).toEqual(contact('c1'));
    expect(await outboxCount()).toBe(0);
    expect(await relay.drain()).toBe(0);
  });

  it("issue 16: the relay hands the bus each event's JSON as emitted and validated (not serialized again), in emit order", async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `o${String(i).padStart(2, '0')}`);
    const emitted: EventEnvelope[] = [];
    const atEmit: string[] = [];
    // Quotes, backslashes and non-ASCII text in the payload: the array encoding must keep every envelope's text.
    await uow.run(async (tx) => {
      for (const id of ids) {
        emitted.push(tx.emit(contactUpsertedV1, { ...contact(id), name: `"Zoë" \\ ${id}` }));
        atEmit.push(JSON.stringify(emitted[emitted.length - 1]));
      }
      // A caller changing the returned object afterwards changes nothing the outbox keeps.
      (emitted[0].payload as { name: string | null }).name = 'changed after emit';
    });
    const bus = new RecordingBus();
    expect(await new OutboxRelay({ dataSource: ds, bus, logger }).drain()).toBe(ids.length);
    expect(bus.published.map((e) => e.envelope.id)).toEqual(emitted.map((e) => e.id));
    expect(bus.published.map((e) => e.json)).toEqual(atEmit);
    expect(bus.published.map((e) => e.envelope)).toEqual(atEmit.map((j) => JSON.parse(j)));
  });

  it('a rolled-back transaction publishes nothing', async () => {
    await expect(
      uow.run(async (tx) => {
        await tx.manager.query(`INSERT INTO svc.notes (id) VALUES ('n2')`);
        tx.emit(contactUpsertedV1, contact('c2'));
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await outboxCount()).toBe(0);
    expect((await ds.query(`SELECT * FROM svc.notes`)).length).toBe(0);
    const bus = new RecordingBus();
    await new OutboxRelay({ dataSource: ds, bus, logger }).drain();
    expect(bus.published).toHaveLength(0);
  });

  it('afterCommit signals run once the transaction committed (its state visible), never after a rollback', async () => {
    const seen: string[][] = [];
    const signal = () =>
      void ds
        .query(`SELECT id FROM svc.notes ORDER BY id`)
        .then((rows: Array<{ id: string }>) => seen.push(rows.map((r) => r.id)));
    let ranInside = false;
    await uow.run(async (tx) => {
      await tx.manager.query(`INSERT INTO svc.notes (id) VALUES ('s1')`);
      tx.afterCommit(() => (ranInside = false));
      tx.afterCommit(signal);
      ranInside = true;
    });
    expect(ranInside).toBe(false);
    await expectEventually(async () => expect(seen).toEqual([['s1']]));
    let rolledBackSignals = 0;
    await expect(
      uow.handleBatch('svc.test', [{ id: randomUUID() }], async (_events, tx) => {
        tx.afterCommit(() => rolledBackSignals++);
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    expect(rolledBackSignals).toBe(0);
  });

  it('an afterCommit effect that throws leaves the committed work standing, and the later effects still run', async () => {
    let later = 0;
    await expect(
      uow.run(async (tx) => {
        await tx.manager.query(`INSERT INTO svc.notes (id) VALUES ('s2')`);
        tx.afterCommit(() => {
          throw new Error('counter broke');
        });
        tx.afterCommit(() => later++);
        return 'done';
      }),
    ).resolves.toBe('done');
    expect(later).toBe(1);
    expect(await ds.query(`SELECT id FROM svc.notes WHERE id = 's2'`)).toHaveLength(1);
  });

  it('an invalid event fails the whole operation', async () => {
    await expect(
      uow.run(async (tx) => {
        await tx.manager.query(`INSERT INTO svc.notes (id) VALUES ('n3')`);
        tx.emit(contactUpsertedV1, { ...contact('c3'), email: 'not-an-address' });
      }),
    ).rejects.toThrow('Payload of contact.upserted@v1 is invalid');
    expect((await ds.query(`SELECT * FROM svc.notes`)).length).toBe(0);
  });

  it('a relay that died after the commit publishes the event when it starts again', async () => {
    await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact('c4')));
    // The relay of the previous process died holding the lease; its lease lapses and a new relay takes over.
    await ds.query(
      `INSERT INTO svc.outbox_lease (name, holder, expires_at) VALUES ('relay', 'dead', now() - interval '1 s')`,
    );
    const bus = new RecordingBus();
    const relay = new OutboxRelay({ dataSource: ds, bus, logger, pollIntervalMs: 20 });
    relay.start();
    await expectEventually(() => expect(bus.published.map((e) => e.envelope.key)).toEqual(['loc_a:c4']));
    await relay.stop();
    expect(await outboxCount()).toBe(0);
  });

  it('keeps events while the bus is down and publishes them in commit order once it is back', async () => {
    for (const id of ['a', 'b', 'c'])
      await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact(id)));
    const bus = new RecordingBus();
    bus.failNext = 2;
    const relay = new OutboxRelay({ dataSource: ds, bus, logger, pollIntervalMs: 10 });
    relay.start();
    await expectEventually(() =>
      expect(bus.published.map((e) => e.envelope.key)).toEqual(['loc_a:a', 'loc_a:b', 'loc_a:c']),
    );
    await relay.stop();
  });

  it('only one relay of a service publishes at a time (lease)', async () => {
    await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact('c5')));
    const busA = new RecordingBus();
    const busB = new RecordingBus();
    const a = new OutboxRelay({ dataSource: ds, bus: busA, logger });
    const b = new OutboxRelay({ dataSource: ds, bus: busB, logger });
    expect(await a.drain()).toBe(1);
    await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact('c6')));
    expect(await b.drain()).toBe(0); // a still holds the lease
    expect(busB.published).toHaveLength(0);
    expect(await a.drain()).toBe(1);
  });

  it('issue 16: the relay renews its lease once a third of it has passed (not per batch or poll) and deletes what it published with the next select', async () => {
    for (const id of ['l1', 'l2', 'l3', 'l4', 'l5'])
      await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact(id)));
    let now = 1_000_000;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    const query = jest.spyOn(ds, 'query');
    const statements = (kind: RegExp) => query.mock.calls.filter(([sql]) => kind.test(sql)).length;
    try {
      const bus = new RecordingBus();
      const relay = new OutboxRelay({ dataSource: ds, bus, logger, batchSize: 2, leaseMs: 3_000 });

      expect(await relay.drain()).toBe(5);
      expect(bus.published.map((e) => e.envelope.key)).toEqual(
        ['l1', 'l2', 'l3', 'l4', 'l5'].map((id) => `loc_a:${id}`),
      );
      expect(await outboxCount()).toBe(0);
      // Three batches and the empty select that ends the drain: one statement each, one lease renewal in all.
      expect(statements(/outbox_lease/)).toBe(1);
      expect(statements(/^\s*DELETE/)).toBe(0);
      expect(statements(/SELECT o\.id/)).toBe(4);

      query.mockClear();
      now += 900; // under a third of the lease: still held, no renewal
      await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact('l6')));
      expect(await relay.drain()).toBe(1);
      expect(await relay.drain()).toBe(0);
      expect(statements(/outbox_lease/)).toBe(0);

      query.mockClear();
      now += 200; // past a third: renewed before the next batch
      expect(await relay.drain()).toBe(0);
      expect(statements(/outbox_lease/)).toBe(1);
      // Another relay still cannot take it over: a pending row stays for the holder.
      await uow.run(async (tx) => void tx.emit(contactUpsertedV1, contact('l7')));
      const other = new RecordingBus();
      expect(await new OutboxRelay({ dataSource: ds, bus: other, logger }).drain()).toBe(0);
      expect(other.published).toHaveLength(0);
      expect(await outboxCount()).toBe(1);
      expect(await relay.drain()).toBe(1);
    } finally {
      query.mockRestore();
      clock.mockRestore();
    }
  });

  it('the inbox makes a redelivered event take effect once', async () => {
    const event: Pick<EventEnvelope, 'id'> = { id: '5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10' };
    const effect = (tx: Parameters<Parameters<UnitOfWork['run']>[0]>[0]) =>
      tx.manager.query(`INSERT INTO svc.notes (id) VALUES ('from-event')`).then(() => undefined);
    expect(await uow.handleOnce('svc.test', event, effect)).toBe(true);
    expect(await uow.handleOnce('svc.test', event, effect)).toBe(false);
    expect(await uow.handleOnce('svc.other-consumer', event, async () => undefined)).toBe(true);
    expect((await ds.query(`SELECT * FROM svc.notes`)).length).toBe(1);
  });

  it('a failed handler leaves no inbox record, so the redelivery runs it again', async () => {
    const event = { id: '6c1f9b67-9d2b-4e6f-8b8c-1d3f5a7e9b21' };
    await expect(
      uow.handleOnce('svc.test', event, async () => {
        throw new Error('transient');
      }),
    ).rejects.toThrow('transient');
    expect(await uow.handleOnce('svc.test', event, async () => undefined)).toBe(true);
  });
  it('the inbox forgets handled event ids after the retention, in batches, and still deduplicates recent ones', async () => {
    const handled: string[] = [];
    const recent = eventCatalog.create(contactUpsertedV1, contact('c-recent'));
    await uow.handleOnce('contacts', recent, async () => void handled.push('recent'));
    // 12 ids handled 40 days ago (older than any redelivery can be).
    await ds.query(
      `INSERT INTO svc.inbox (consumer, event_id, processed_at)
       SELECT 'contacts', gen_random_uuid(), now() - interval '40 days' FROM generate_series(1, 12)`,
    );
    const pruner = new RetentionPruner({ dataSource: ds, logger, rules: [inboxRetention(30)], batchSize: 5 });
    expect(await pruner.pruneOnce()).toBe(12);
    expect(await ds.query('SELECT event_id FROM svc.inbox')).toEqual([{ event_id: recent.id }]);
    await uow.handleOnce('contacts', recent, async () => void handled.push('again'));
    expect(handled).toEqual(['recent']);
    expect(await pruner.pruneOnce()).toBe(0);
  });

  it('a retention rule must name plain identifiers, a key and a positive retention (names are spliced into SQL)', () => {
    const pruner = new RetentionPruner({ dataSource: ds, logger, rules: [] });
    const rule = {
      table: 'inbox',
      keyColumns: ['consumer'],
      writtenAtColumn: 'processed_at',
      retentionHours: 1,
    };
    expect(() => pruner.add({ ...rule, table: 'inbox; DROP TABLE svc.outbox' })).toThrow(
      /not a plain identifier/,
    );
    expect(() => pruner.add({ ...rule, keyColumns: ['"consumer"'] })).toThrow(/not a plain identifier/);
    expect(() => pruner.add({ ...rule, keyColumns: [] })).toThrow(/needs a key/);
    expect(() => pruner.add({ ...rule, retentionHours: 0 })).toThrow(/positive retention/);
    expect(() => pruner.add(rule)).not.toThrow();
  });
  describe('handleBatch (issue 16: one transaction per batch)', () => {
    const ev = (id: string, correlationId?: string) =>
      ({ id, correlationId }) as Pick<EventEnvelope, 'id' | 'correlationId'>;
    const ids = Array.from({ length: 4 }, () => randomUUID());
    /** A real quarantine row: what `{ quarantinedBy }` checks inside the inbox insert. */
    const quarantine = (eventId: string, group: string) =>
      ds.query(
        `INSERT INTO svc.quarantine (id, consumer_group, stage, topic, event_id, event_type, event_version,
           event_key, envelope, error_code, error_class, error_message, attempts)
         VALUES ($1, $2, 'svc.' || $2, 'topic', $3, 'x', 1, 'k', '{}', 'code', 'Error', 'failed', 1)`,
        [randomUUID(), group, eventId],
      );

    it('runs the work once with the events not handled before, in order, each id once, and writes their inbox rows', async () => {
      await uow.handleOnce('batcher', { id: ids[1] }, async () => undefined);
      const seen: string[][] = [];
      // ids[0] twice (a redelivery inside one batch), ids[2] in upper case (a valid uuid all the same).
      const events = [ev(ids[0]), ev(ids[1]), ev(ids[0]), ev(ids[2].toUpperCase()), ev(ids[3])];

      const n = await uow.handleBatch('batcher', events, async (fresh, tx) => {
        seen.push(fresh.map((e) => e.id));
        for (const e of fresh) await tx.manager.query('INSERT INTO svc.notes (id) VALUES ($1)', [e.id]);
      });

      expect(n).toBe(3);
      expect(seen).toEqual([[ids[0], ids[2].toUpperCase(), ids[3]]]);
      const inbox = await ds.query(
        `SELECT event_id FROM svc.inbox WHERE consumer = 'batcher' ORDER BY event_id`,
      );
      expect(inbox.map((r: { event_id: string }) => r.event_id)).toEqual([...ids].sort());
      // Again: everything is in the inbox, the work does not run.
      expect(await uow.handleBatch('batcher', events, async () => void seen.push(['ran']))).toBe(0);
      expect(seen).toHaveLength(1);
    });

    it('leaves the skipped ids alone (no work, no inbox row) and writes the outbox of the batch in the same transaction', async () => {
      await quarantine(ids[1], 'skipper');
      const events = ids.map((id, i) => ev(id, `corr-${i}`));
      const handled: string[] = [];
      const n = await uow.handleBatch(
        'skipper',
        events,
        async (fresh, tx) => {
          for (const e of fresh) {
            handled.push(e.id);
            tx.emit(contactUpsertedV1, contact(`ct_${e.id.slice(0, 8)}`));
          }
        },
        { quarantinedBy: 'skipper' },
      );

      expect(n).toBe(3);
      expect(handled).toEqual([ids[0], ids[2], ids[3]]);
      expect(await outboxCount()).toBe(3);
      const inbox = await ds.query(`SELECT event_id FROM svc.inbox WHERE consumer = 'skipper'`);
      expect(inbox.map((r: { event_id: string }) => r.event_id).sort()).toEqual(
        [ids[0], ids[2], ids[3]].sort(),
      );
      // One transaction wrote the inbox rows and the outbox rows.
      const xids = await ds.query(
        `SELECT DISTINCT xmin::text AS x FROM svc.inbox WHERE consumer = 'skipper'
         UNION SELECT DISTINCT xmin::text FROM svc.outbox`,
      );
      expect(xids).toHaveLength(1);
    });

    it('issue 16: { quarantinedBy } leaves the ids that group quarantined alone inside the inbox insert, with no lookup statement of its own', async () => {
      const batch = Array.from({ length: 4 }, () => randomUUID());
      await quarantine(batch[1], 'q-group');
      await quarantine(batch[2], 'another-group'); // another group's quarantine does not concern this one
      const query = jest.spyOn(EntityManager.prototype, 'query');
      let before = -1;
      try {
        const n = await uow.handleBatch(
          'q-group',
          batch.map((id) => ev(id)),
          async (fresh) => {
            before = query.mock.calls.length;
            expect(fresh.map((e) => e.id)).toEqual([batch[0], batch[2], batch[3]]);
          },
          { quarantinedBy: 'q-group' },
        );
        expect(n).toBe(3);
      } finally {
        query.mockRestore();
      }
      expect(before).toBe(1); // the inbox insert, and nothing else, before the work
      const inbox = await ds.query(`SELECT event_id FROM svc.inbox WHERE consumer = 'q-group'`);
      expect(inbox.map((r: { event_id: string }) => r.event_id).sort()).toEqual(
        [batch[0], batch[2], batch[3]].sort(),
      );
    });

    it('rolls the whole batch back on an error: no inbox row, no effect, no outbox row', async () => {
      await expect(
        uow.handleBatch(
          'failing',
          ids.map((id) => ev(id)),
          async (fresh, tx) => {
            for (const e of fresh) await tx.manager.query('INSERT INTO svc.notes (id) VALUES ($1)', [e.id]);
            tx.emit(contactUpsertedV1, contact('ct_x'));
            throw new Error('the third one is poison');
          },
        ),
      ).rejects.toThrow(/poison/);

      expect(await ds.query(`SELECT 1 FROM svc.inbox WHERE consumer = 'failing'`)).toEqual([]);
      expect(await ds.query('SELECT 1 FROM svc.notes')).toEqual([]);
      expect(await outboxCount()).toBe(0);
    });

    it("stamps each emitted event with the correlation context current at emit time (a batch's events each their own)", async () => {
      await uow.run(async (tx) => {
        for (const c of ['corr-a', 'corr-b'])
          await runWithContext({ correlationId: c }, async () => {
            tx.emit(contactUpsertedV1, contact(`ct_${c}`));
          });
      });
      const rows: Array<{ c: string }> = await ds.query(
        `SELECT envelope->>'correlationId' AS c FROM svc.outbox ORDER BY id`,
      );
      expect(rows.map((r) => r.c)).toEqual(['corr-a', 'corr-b']);
    });
  });
});
