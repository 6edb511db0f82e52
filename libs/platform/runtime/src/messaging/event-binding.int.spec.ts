import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import { Client } from 'pg';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  Topics,
  contactUpsertedV1,
  eventCatalog,
  sendFailedV1,
  sendSucceededV1,
  type EventEnvelope,
  type PayloadOf,
} from '@mailbridge/contracts';
import { InProcessEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { createTestDatabase, expectEventually, type TestDatabase } from '@mailbridge/testing';
import type { ServiceDefinition } from '../service-host';
import { startService, type RunningService } from '../start-service';
import { OnEvent, OnEventBatch, type ConsumerContext, type EventOf } from './on-event.decorator';

const SCHEMA = 'binding_probe';
/** The golden examples' payloads: same connection, so the same key and partition (order holds). */
const examplePayload = <T>(file: string): T =>
  (
    JSON.parse(readFileSync(path.join(__dirname, '../../../../contracts/src/examples', file), 'utf8')) as {
      payload: T;
    }
  ).payload;
const succeeded = (sendId: string): PayloadOf<typeof sendSucceededV1> => ({
  ...examplePayload<PayloadOf<typeof sendSucceededV1>>('send.succeeded.v1.json'),
  sendId,
});
const failed = (sendId: string): PayloadOf<typeof sendFailedV1> => ({
  ...examplePayload<PayloadOf<typeof sendFailedV1>>('send.failed.v1.json'),
  sendId,
});

class ProbeTable1900000000000 implements MigrationInterface {
  name = 'ProbeTable1900000000000';
  async up(q: QueryRunner): Promise<void> {
    // tx: which transaction wrote the row (the batch path runs a whole batch in one).
    await q.query(
      `CREATE TABLE ${SCHEMA}.effects (send_id uuid NOT NULL, by_group text NOT NULL,
         tx bigint NOT NULL DEFAULT txid_current())`,
    );
    await q.query(
      `CREATE TABLE ${SCHEMA}.list_effects (send_id uuid NOT NULL, tx bigint NOT NULL DEFAULT txid_current())`,
    );
    await q.query(
      `CREATE TABLE ${SCHEMA}.companion_effects (event_id uuid NOT NULL, via text NOT NULL,
         tx bigint NOT NULL DEFAULT txid_current())`,
    );
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${SCHEMA}.companion_effects`);
    await q.query(`DROP TABLE ${SCHEMA}.list_effects`);
    await q.query(`DROP TABLE ${SCHEMA}.effects`);
  }
}

/** What the probe consumers saw, and which sends make them throw. */
const seen: Array<{ group: string; type: string; sendId: string; attempt?: number }> = [];
const poison = new Set<string>();
/** The sends 'succeeded-only' counted, as a metric counts: after the commit (TransactionContext.afterCommit). */
const counted: string[] = [];

@Injectable()
class ProbeConsumers {
  @OnEvent(sendSucceededV1, { group: 'succeeded-only' })
  async onSucceeded(event: EventOf<typeof sendSucceededV1>, tx: TransactionContext): Promise<void> {
    seen.push({ group: 'succeeded-only', type: event.type, sendId: event.payload.sendId });
    await tx.manager.query(
      `INSERT INTO ${SCHEMA}.effects (send_id, by_group) VALUES ($1, 'succeeded-only')`,
      [event.payload.sendId],
    );
    tx.afterCommit(() => counted.push(event.payload.sendId));
    // After the effect: a throw must take the effect and the inbox row back together.
    if (poison.has(event.payload.sendId)) throw new Error('probe refuses this send');
  }

  @OnEvent([sendSucceededV1, sendFailedV1], { group: 'outside-tx', transaction: false })
  async onResult(
    event: EventOf<[typeof sendSucceededV1, typeof sendFailedV1]>,
    consumer: ConsumerContext,
  ): Promise<void> {
    seen.push({
      group: 'outside-tx',
      type: event.type,
      sendId: event.payload.sendId,
      attempt: consumer.delivery.attempt,
    });
    await consumer.handleOnce(async (tx) => {
      await tx.manager.query(`INSERT INTO ${SCHEMA}.effects (send_id, by_group) VALUES ($1, 'outside-tx')`, [
        event.payload.sendId,
      ]);
    });
  }
}

/** The lists the batch-aware probe received. */
const lists: string[][] = [];

@Injectable()
class ListProbe {
  @OnEvent(sendFailedV1, { group: 'as-list', batch: true })
  async onFailures(events: readonly EventOf<typeof sendFailedV1>[], tx: TransactionContext): Promise<void> {
    lists.push(events.map((e) => e.payload.sendId));
    // One statement for the whole list: what a set-based hot path does.
    await tx.manager.query(`INSERT INTO ${SCHEMA}.list_effects (send_id) SELECT unnest($1::uuid[])`, [
      events.map((e) => e.payload.sendId),
    ]);
    if (events.some((e) => poison.has(e.payload.sendId))) throw new Error('probe refuses this list');
  }
}

/** How the opted-out consumer with a batch companion handled each send: in a batch, or alone. */
const companionRuns: Array<{ sendId: string; via: 'batch' | 'single' }> = [];
/** Sends whose batch must give up (as if it needed a call outside the transaction). */
const needsOutside = new Set<string>();

@Injectable()
class CompanionProbe {
  @OnEventBatch(sendSucceededV1, { group: 'companion' })
  async inBatch(events: readonly EventOf<typeof sendSucceededV1>[], tx: TransactionContext): Promise<void> {
    if (events.some((e) => needsOutside.has(e.payload.sendId))) throw new Error('needs a call outside');
    for (const e of events) companionRuns.push({ sendId: e.payload.sendId, via: 'batch' });
    await tx.manager.query(`INSERT INTO ${SCHEMA}.list_effects (send_id) SELECT unnest($1::uuid[])`, [
      events.map((e) => e.payload.sendId),
    ]);
  }

  @OnEvent(sendSucceededV1, { group: 'companion', transaction: false })
  async alone(event: EventOf<typeof sendSucceededV1>, consumer: ConsumerContext): Promise<void> {
    companionRuns.push({ sendId: event.payload.sendId, via: 'single' });
    await consumer.handleOnce(async (tx) => {
      await tx.manager.query(`INSERT INTO ${SCHEMA}.list_effects (send_id) VALUES ($1)`, [
        event.payload.sendId,
      ]);
    });
  }
}

/** Contacts (by name) whose batch the transactional companion probe gives up on. */
const refusedInBatch = new Set<string>();

@Injectable()
class TransactionalCompanionProbe {
  @OnEventBatch(contactUpsertedV1, { group: 'tx-companion' })
  async inBatch(events: readonly EventOf<typeof contactUpsertedV1>[], tx: TransactionContext): Promise<void> {
    await tx.manager.query(
      `INSERT INTO ${SCHEMA}.companion_effects (event_id, via) SELECT unnest($1::uuid[]), 'batch'`,
      [events.map((e) => e.id)],
    );
    if (events.some((e) => refusedInBatch.has(e.payload.name ?? '')))
      throw new Error('probe refuses this batch');
  }

  @OnEvent(contactUpsertedV1, { group: 'tx-companion' })
  async alone(event: EventOf<typeof contactUpsertedV1>, tx: TransactionContext): Promise<void> {
    await tx.manager.query(`INSERT INTO ${SCHEMA}.companion_effects (event_id, via) VALUES ($1, 'single')`, [
      event.id,
    ]);
  }
}

/*
 * Type tests (checked by `tsc --noEmit`, not by jest): the decorator refuses a handler that does not take exactly
 * what its definitions deliver, and the transactional and opted-out forms cannot be mixed up.
 */
export class TypeTests {
  // @ts-expect-error -- a handler of contact.upserted cannot be bound to send.succeeded
  @OnEvent(sendSucceededV1, { group: 't1' })
  async otherType(_event: EventOf<typeof contactUpsertedV1>, _tx: TransactionContext): Promise<void> {
    await Promise.resolve(_event);
  }

  // @ts-expect-error -- bound to two definitions, the handler must accept both (not only send.succeeded)
  @OnEvent([sendSucceededV1, sendFailedV1], { group: 't2' })
  async fewerTypes(_event: EventOf<typeof sendSucceededV1>, _tx: TransactionContext): Promise<void> {
    await Promise.resolve(_event);
  }

  // @ts-expect-error -- a transactional handler gets the transaction, not the consumer context
  @OnEvent(sendSucceededV1, { group: 't3' })
  async wrongSecond(_event: EventOf<typeof sendSucceededV1>, _consumer: ConsumerContext): Promise<void> {
    await Promise.resolve(_event);
  }

  // @ts-expect-error -- opted out, it gets the consumer context (no transaction is open)
  @OnEvent(sendSucceededV1, { group: 't4', transaction: false })
  async wrongOptOut(_event: EventOf<typeof sendSucceededV1>, _tx: TransactionContext): Promise<void> {
    await Promise.resolve(_event);
  }

  // @ts-expect-error -- declared batch: true, the handler takes a list
  @OnEvent(sendSucceededV1, { group: 't6', batch: true })
  async notAList(_event: EventOf<typeof sendSucceededV1>, _tx: TransactionContext): Promise<void> {
    await Promise.resolve(_event);
  }

  @OnEvent([sendSucceededV1, sendFailedV1], { group: 't5' })
  async narrowed(event: EventOf<[typeof sendSucceededV1, typeof sendFailedV1]>): Promise<void> {
    // The union is discriminated by type: each branch sees its own payload.
    if (event.type === sendFailedV1.type) void event.payload.code;
    // @ts-expect-error -- `code` is send.failed's; this branch is send.succeeded
    else void event.payload.code;
  }
}

@Module({ providers: [ProbeConsumers, ListProbe, CompanionProbe, TransactionalCompanionProbe] })
class ProbeModule {}

const probeService: ServiceDefinition = {
  // The host's name list is closed; the probe borrows one, with its own schema.
  name: 'conversations',
  schema: SCHEMA,
  defaultPort: 0,
  module: ProbeModule,
  entities: [],
  migrations: [ProbeTable1900000000000],
  openApi: { title: 'probe', description: 'probe' },
};

describe('typed consumer binding (@OnEvent): inbox, unit of work, quarantine (in-process bus, real PostgreSQL)', () => {
  let db: TestDatabase;
  let bus: InProcessEventBus;
  let svc: RunningService;

  beforeAll(async () => {
    db = await createTestDatabase();
    bus = new InProcessEventBus({
      catalog: eventCatalog,
      logger: createLogger({ service: 'bus', level: 'silent' }),
      retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
    });
    svc = await startService(probeService, {
      name: 'conversations',
      port: 0,
      host: '127.0.0.1',
      databaseUrl: db.url,
      runMigrations: true,
      bus,
      logger: createLogger({ service: 'probe', level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      auth: { jwtSecret: 'x'.repeat(32) },
      internalApiToken: 'y'.repeat(32),
      env: {},
    });
  }, 60_000);
  afterAll(async () => {
    await svc?.close();
    await bus?.close();
    await db?.drop();
  });

  const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  };
  const publish = (...envelopes: EventEnvelope[]) =>
    bus.publish(envelopes.map((envelope) => ({ topic: Topics.mailDelivery, envelope })));
  const effects = (sendId: string) =>
    sql<{ by_group: string }>(`SELECT by_group FROM ${SCHEMA}.effects WHERE send_id = $1 ORDER BY by_group`, [
      sendId,
    ]);
  const inbox = (eventId: string) =>
    sql<{ consumer: string }>(`SELECT consumer FROM ${SCHEMA}.inbox WHERE event_id = $1 ORDER BY consumer`, [
      eventId,
    ]);
  const eventually = (assertion: () => Promise<void>) => expectEventually(assertion, { timeoutMs: 20_000 });

  it('another type on the topic is acknowledged without running the handler; the next event of its key is handled', async () => {
    const other = eventCatalog.create(sendFailedV1, failed(randomUUID()));
    const next = eventCatalog.create(sendSucceededV1, succeeded(randomUUID()));
    await publish(other, next);

    await eventually(async () => expect(await effects(next.payload.sendId)).toHaveLength(2));
    expect(seen.filter((s) => s.group === 'succeeded-only').map((s) => s.sendId)).toEqual([
      next.payload.sendId,
    ]);
    // Neither run nor recorded: the group never saw it.
    expect(await inbox(other.id)).toEqual([{ consumer: 'as-list' }, { consumer: 'outside-tx' }]);
    expect(await sql(`SELECT 1 FROM ${SCHEMA}.quarantine`)).toEqual([]);
  });

  it("a handler's effect and its inbox row commit together, keyed by the group; a redelivery has no second effect", async () => {
    const event = eventCatalog.create(sendSucceededV1, succeeded(randomUUID()));
    await publish(event);
    await eventually(async () =>
      expect(await effects(event.payload.sendId)).toEqual([
        { by_group: 'outside-tx' },
        { by_group: 'succeeded-only' },
      ]),
    );
    expect(await inbox(event.id)).toEqual([
      { consumer: 'companion' },
      { consumer: 'outside-tx' },
      { consumer: 'succeeded-only' },
    ]);

    const marker = eventCatalog.create(sendSucceededV1, succeeded(randomUUID()));
    await publish(event, marker);
    await eventually(async () => expect(await effects(marker.payload.sendId)).toHaveLength(2));
    expect(await effects(event.payload.sendId)).toHaveLength(2);
  });

  it('a throw rolls the effect and the inbox row back, is retried, then quarantined; the partition moves on', async () => {
    const bad = eventCatalog.create(sendSucceededV1, succeeded(randomUUID()));
    poison.add(bad.payload.sendId);
    const after = eventCatalog.create(sendSucceededV1, succeeded(randomUUID()));
    await publish(bad, after);

    await eventually(async () => expect(await effects(after.payload.sendId)).toHaveLength(2));
    // Once in its batch (rolled back with it), then alone under the retry policy (2 attempts).
    expect(seen.filter((s) => s.group === 'succeeded-only' && s.sendId === bad.payload.sendId)).toHaveLength(
      3,
    );
    // Only the other group's effect and inbox row: the failing group's were rolled back each time.
    expect(await effects(bad.payload.sendId)).toEqual([{ by_group: 'outside-tx' }]);
    expect(await inbox(bad.id)).toEqual([{ consumer: 'companion' }, { consumer: 'outside-tx' }]);
    expect(
      await sql(
        `SELECT consumer_group, stage, attempts, status FROM ${SCHEMA}.quarantine WHERE event_id = $1`,
        [bad.id],
      ),
    ).toEqual([
      {
        consumer_group: 'succeeded-only',
        stage: 'conversations.succeeded-only',
        attempts: 2,
        status: 'quarantined',
      },
    ]);
  });

  it('the opted-out form gets the delivery and its own handleOnce keyed by the group, for every definition it names', async () => {
    const result = eventCatalog.create(sendFailedV1, failed(randomUUID()));
    await publish(result);
    await eventually(async () =>
      expect(await effects(result.payload.sendId)).toEqual([{ by_group: 'outside-tx' }]),
    );
    expect(seen.filter((s) => s.sendId === result.payload.sendId)).toEqual([
      { group: 'outside-tx', type: 'send.failed', sendId: result.payload.sendId, attempt: 1 },
    ]);
    expect(await inbox(result.id)).toEqual([{ consumer: 'as-list' }, { consumer: 'outside-tx' }]);
  });
  const txOf = (sendIds: string[], table = 'effects', group = 'succeeded-only') =>
    sql<{ send_id: string; tx: string }>(
      `SELECT send_id, tx::text FROM ${SCHEMA}.${table} WHERE send_id = ANY($1::uuid[])
       ${table === 'effects' ? `AND by_group = '${group}'` : ''}`,
      [sendIds],
    );

  it('issue 16: a backlog of one partition is handled as one batch, in one transaction, each event once', async () => {
    const events = Array.from({ length: 10 }, () =>
      eventCatalog.create(sendSucceededV1, succeeded(randomUUID())),
    );
    const ids = events.map((e) => e.payload.sendId);
    await publish(...events);

    await eventually(async () => expect(await txOf(ids)).toHaveLength(10));
    const rows = await txOf(ids);
    expect(new Set(rows.map((r) => r.send_id)).size).toBe(10);
    // One publish appends all ten before the partition drains: one batch, one transaction.
    expect(new Set(rows.map((r) => r.tx)).size).toBe(1);
    // In log order within it.
    expect(
      seen.filter((s) => s.group === 'succeeded-only' && ids.includes(s.sendId)).map((s) => s.sendId),
    ).toEqual(ids);
    expect(
      await sql(`SELECT 1 FROM ${SCHEMA}.inbox WHERE consumer = 'succeeded-only' AND event_id = ANY($1)`, [
        events.map((e) => e.id),
      ]),
    ).toHaveLength(10);
    // The opted-out group keeps its own transaction per event.
    expect(new Set((await txOf(ids, 'effects', 'outside-tx')).map((r) => r.tx)).size).toBe(10);
  });

  it('issue 16: a poison event in a batch fails only itself: its neighbours are handled once, it is quarantined', async () => {
    const events = Array.from({ length: 6 }, () =>
      eventCatalog.create(sendSucceededV1, succeeded(randomUUID())),
    );
    const bad = events[2];
    poison.add(bad.payload.sendId);
    const good = events.filter((e) => e !== bad).map((e) => e.payload.sendId);
    await publish(...events);

    await eventually(async () =>
      expect(await sql(`SELECT 1 FROM ${SCHEMA}.quarantine WHERE event_id = $1`, [bad.id])).toHaveLength(1),
    );
    await eventually(async () => expect(await txOf(good)).toHaveLength(5));
    expect(new Set((await txOf(good)).map((r) => r.send_id)).size).toBe(5);
    expect(await txOf([bad.payload.sendId])).toEqual([]);
    expect(await inbox(bad.id)).toEqual([{ consumer: 'companion' }, { consumer: 'outside-tx' }]);
    // The batch ran the neighbours before the poison one, rolled back, and ran them again one at a time: each is
    // counted once (at its commit), the poison one never.
    const runs = (id: string) => seen.filter((s) => s.group === 'succeeded-only' && s.sendId === id).length;
    expect(runs(good[0])).toBe(2);
    expect(good.map((id) => counted.filter((c) => c === id).length)).toEqual([1, 1, 1, 1, 1]);
    expect(counted).not.toContain(bad.payload.sendId);

    // Redelivered inside a later batch, the quarantined event is left alone (not run, no inbox row); the rest runs.
    const runsOfBad = () =>
      seen.filter((s) => s.group === 'succeeded-only' && s.sendId === bad.payload.sendId);
    const before = runsOfBad().length;
    const later = eventCatalog.create(sendSucceededV1, succeeded(randomUUID()));
    await publish(bad, later);
    await eventually(async () => expect(await txOf([later.payload.sendId])).toHaveLength(1));
    expect(runsOfBad()).toHaveLength(before);
    expect(await inbox(bad.id)).toEqual([{ consumer: 'companion' }, { consumer: 'outside-tx' }]);
  });

  it('issue 16: a batch-aware consumer (batch: true) gets the new events of a batch as one list; a redelivery is not in it', async () => {
    const first = Array.from({ length: 5 }, () => eventCatalog.create(sendFailedV1, failed(randomUUID())));
    await publish(...first);
    await eventually(async () =>
      expect(
        await txOf(
          first.map((e) => e.payload.sendId),
          'list_effects',
        ),
      ).toHaveLength(5),
    );
    expect(lists).toContainEqual(first.map((e) => e.payload.sendId));

    const again = eventCatalog.create(sendFailedV1, failed(randomUUID()));
    await publish(first[0], first[1], again);
    await eventually(async () => expect(await txOf([again.payload.sendId], 'list_effects')).toHaveLength(1));
    expect(lists[lists.length - 1]).toEqual([again.payload.sendId]);
    expect(
      await txOf(
        first.map((e) => e.payload.sendId),
        'list_effects',
      ),
    ).toHaveLength(5);
  });

  it('issue 16: a failing list falls back to lists of one; only the poison one is quarantined', async () => {
    const events = Array.from({ length: 4 }, () => eventCatalog.create(sendFailedV1, failed(randomUUID())));
    poison.add(events[1].payload.sendId);
    await publish(...events);

    const good = [0, 2, 3].map((i) => events[i].payload.sendId);
    await eventually(async () => expect(await txOf(good, 'list_effects')).toHaveLength(3));
    await eventually(async () =>
      expect(
        await sql(`SELECT consumer_group FROM ${SCHEMA}.quarantine WHERE event_id = $1`, [events[1].id]),
      ).toEqual([{ consumer_group: 'as-list' }]),
    );
    expect(await txOf([events[1].payload.sendId], 'list_effects')).toEqual([]);
    expect(lists).toContainEqual([events[0].payload.sendId]);
  });
  it('issue 16: an opted-out consumer batches through its @OnEventBatch companion, and goes alone when a batch gives up', async () => {
    const batched = Array.from({ length: 4 }, () =>
      eventCatalog.create(sendSucceededV1, succeeded(randomUUID())),
    );
    const ids = batched.map((e) => e.payload.sendId);
    await publish(...batched);
    await eventually(async () => expect(await txOf(ids, 'list_effects')).toHaveLength(4));
    expect(new Set((await txOf(ids, 'list_effects')).map((r) => r.tx)).size).toBe(1);
    expect(companionRuns.filter((r) => ids.includes(r.sendId)).map((r) => r.via)).toEqual([
      'batch',
      'batch',
      'batch',
      'batch',
    ]);

    const mixed = Array.from({ length: 3 }, () =>
      eventCatalog.create(sendSucceededV1, succeeded(randomUUID())),
    );
    needsOutside.add(mixed[1].payload.sendId);
    const mixedIds = mixed.map((e) => e.payload.sendId);
    await publish(...mixed);
    await eventually(async () => expect(await txOf(mixedIds, 'list_effects')).toHaveLength(3));
    // The batch gave up as a whole: each went alone through the opted-out method, once.
    expect(companionRuns.filter((r) => mixedIds.includes(r.sendId))).toEqual(
      mixedIds.map((sendId) => ({ sendId, via: 'single' })),
    );
    expect(new Set((await txOf(mixedIds, 'list_effects')).map((r) => r.send_id)).size).toBe(3);
  });

  it('issue 16: a transactional consumer batches through its @OnEventBatch companion, and goes one at a time when the batch throws', async () => {
    const contact = (name: string) =>
      eventCatalog.create(contactUpsertedV1, {
        ...examplePayload<PayloadOf<typeof contactUpsertedV1>>('contact.upserted.v1.json'),
        name,
      });
    const ran = (events: EventEnvelope[]) =>
      sql<{ event_id: string; via: string; tx: string }>(
        `SELECT event_id, via, tx::text FROM ${SCHEMA}.companion_effects WHERE event_id = ANY($1::uuid[])`,
        [events.map((e) => e.id)],
      );
    const batched = [contact('a'), contact('b'), contact('c')];
    await bus.publish(batched.map((envelope) => ({ topic: Topics.conversationsContacts, envelope })));
    await eventually(async () => expect(await ran(batched)).toHaveLength(3));
    expect((await ran(batched)).map((r) => r.via)).toEqual(['batch', 'batch', 'batch']);
    expect(new Set((await ran(batched)).map((r) => r.tx)).size).toBe(1);

    refusedInBatch.add('refused');
    const mixed = [contact('d'), contact('refused'), contact('e')];
    await bus.publish(mixed.map((envelope) => ({ topic: Topics.conversationsContacts, envelope })));
    await eventually(async () => expect(await ran(mixed)).toHaveLength(3));
    // The batch's rows rolled back; each event went alone through the @OnEvent method, once.
    expect((await ran(mixed)).map((r) => r.via)).toEqual(['single', 'single', 'single']);
  });
});
