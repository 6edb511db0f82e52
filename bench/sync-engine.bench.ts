/**
 * sync-engine throughput. Prints numbers, asserts nothing.
 *
 *   node tools/run-ts.cjs bench/sync-engine.bench.ts [--sizes 1000,10000,100000] [--messages 2000] [--batches 10,100]
 *     [--profile 1]   (also: where a batch's time goes, per statement kind)
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (or TEST_DATABASE_ADMIN_URL) and kcat (librdkafka's mock cluster).
 *
 * 1. decide (pure): decisions/s of the decision function alone.
 * 2. per binding count (1k, 10k, 100k thread bindings already in the database, spread over mailboxes of 100 each):
 *    a. decisions/s through the use case on PostgreSQL (load context, decide, write bindings + decision + events),
 *       one transaction per message, sequential; then one transaction per batch (`--batches 10,100`), as the
 *       consumer binding's batch path runs it (issue 16);
 *    b. end to end: message.observed published on the Kafka mock cluster → message.synced read back from Kafka,
 *       events/s over the whole batch (80% replies in bound threads, 20% new threads from known contacts).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import {
  EventDefinition,
  EventEnvelope,
  PayloadOf,
  Topics,
  eventCatalog,
  messageObservedV1,
  messageSyncedV1,
} from '@mailbridge/contracts';
import { KafkaEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { createTestDatabase, startKafkaMockCluster } from '@mailbridge/testing';
import { startServiceUnderTest } from '@mailbridge/testing-services';
import { decideObservedMessage } from '../apps/sync-engine/src/decisions/decide-observed-message';
import type { ObservedMessage } from '../apps/sync-engine/src/decisions/decision.types';
import { ObserveBatchUseCase } from '../apps/sync-engine/src/inbound/observe-batch.use-case';
import { ObserveMessageUseCase } from '../apps/sync-engine/src/inbound/observe-message.use-case';
import { syncEngineService } from '../apps/sync-engine/src/service';
import {
  binding,
  connection,
  contact,
  decisionInput,
  observed,
} from '../apps/sync-engine/src/testing/builders';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const SIZES = (args.get('sizes') ?? '1000,10000,100000').split(',').map(Number);
const MESSAGES = Number(args.get('messages') ?? 2000);
const PER_MAILBOX = 100;
const BATCH_SIZES = (args.get('batches') ?? '10,100').split(',').map(Number);

const out = (line: string) => process.stdout.write(`${line}\n`);
const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;

function benchPure(): void {
  const inputs = [
    decisionInput(),
    decisionInput({
      bindings: [binding()],
      keyMatches: [{ key: 't:th-1', bindingId: binding().bindingId }],
    }),
    decisionInput({
      connections: [connection(), connection({ connectionId: randomUUID(), locationId: 'loc_b' })],
      contacts: [contact(), contact({ locationId: 'loc_b', contactId: 'ct_b' })],
    }),
    decisionInput({ observed: observed({ message: { from: { address: 'newsletter@shop.example' } } }) }),
  ];
  const n = 100_000;
  for (let i = 0; i < 5_000; i++) decideObservedMessage(inputs[i % inputs.length]);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) decideObservedMessage(inputs[i % inputs.length]);
  out(
    `decide (pure, mixed inputs): ${rate(n, performance.now() - t0)} over ${n.toLocaleString('en-US')} decisions`,
  );
}

const mailboxKey = (m: number) => `google:user${m}@bench.example`;

/** Connections, contacts and `bindings` thread bindings (two keys each), written in bulk. */
async function seed(ds: DataSource, bindings: number): Promise<number> {
  const mailboxes = Math.max(1, Math.ceil(bindings / PER_MAILBOX));
  await ds.query(
    `INSERT INTO sync_engine.connection_projection
       (connection_id, location_id, user_id, provider, email_normalized, mailbox_key, sync_scope, status, connected_at)
     SELECT gen_random_uuid(), 'loc_' || m, 'usr_' || m, 'google', 'user' || m || '@bench.example',
            'google:user' || m || '@bench.example', 'contact_mail', 'active', now()
     FROM generate_series(0, $1 - 1) m`,
    [mailboxes],
  );
  // Contact i (ct_i, c<i>@lead.example) belongs to mailbox i / 100's location and user; binding i is its thread.
  await ds.query(
    `INSERT INTO sync_engine.contact_projection
       (location_id, contact_id, email_normalized, assigned_user_id, created_at, deleted, revision)
     SELECT 'loc_' || (i / ${PER_MAILBOX}), 'ct_' || i, 'c' || i || '@lead.example', 'usr_' || (i / ${PER_MAILBOX}),
            now(), false, 1
     FROM generate_series(0, $1 - 1) i`,
    [bindings],
  );
  await ds.query(
    `INSERT INTO sync_engine.thread_binding
       (binding_id, mailbox_key, location_id, connection_id, user_id, contact_id, conversation_id, origin_rule, status)
     SELECT gen_random_uuid(), c.mailbox_key, c.location_id, c.connection_id, c.user_id, 'ct_' || i, gen_random_uuid(),
            'SYN-3', 'active'
     FROM generate_series(0, $1 - 1) i
     JOIN sync_engine.connection_projection c ON c.location_id = 'loc_' || (i / ${PER_MAILBOX})`,
    [bindings],
  );
  await ds.query(
    `INSERT INTO sync_engine.thread_key (mailbox_key, key, binding_id)
     SELECT mailbox_key, 't:th-' || substr(contact_id, 4), binding_id FROM sync_engine.thread_binding
     UNION ALL
     SELECT mailbox_key, 'm:<root-' || substr(contact_id, 4) || '@lead.example>', binding_id
     FROM sync_engine.thread_binding`,
  );
  await ds.query('ANALYZE');
  return mailboxes;
}

/** 80% replies in bound threads, 20% new mail (a new thread) from a known contact. */
function messages(run: string, count: number, bindings: number): ObservedMessage[] {
  return Array.from({ length: count }, (_, n) => {
    const reply = n % 5 !== 0;
    // A reply in thread i, or new mail from contact i (a new thread).
    const i = (n * 7919) % bindings;
    const m = Math.floor(i / PER_MAILBOX);
    return observed({
      mailboxId: `00000000-0000-4000-8000-${String(m).padStart(12, '0')}`,
      mailboxKey: mailboxKey(m),
      mailboxAddress: `user${m}@bench.example`,
      message: {
        providerMessageId: `${run}-${n}`,
        providerThreadId: reply ? `th-${i}` : `${run}-new-${n}`,
        rfcMessageId: `<${run}-${n}@lead.example>`,
        inReplyTo: reply ? `<root-${i}@lead.example>` : null,
        references: reply ? [`<root-${i}@lead.example>`] : [],
        from: { address: `c${i}@lead.example` },
        to: [{ address: `user${m}@bench.example` }],
      },
    });
  });
}

async function benchSize(bindings: number): Promise<void> {
  const kafka = await startKafkaMockCluster();
  const db = await createTestDatabase('mb_bench');
  const logger = createLogger({ service: 'bench', level: 'silent' });
  const bus = (clientId: string) =>
    new KafkaEventBus({
      brokers: kafka.bootstrapServers,
      clientId,
      catalog: eventCatalog,
      logger,
      idempotent: false,
    });
  const serviceBus = bus('sync-engine');
  const producer = bus('mail-gateway');
  const service = await startServiceUnderTest(syncEngineService, { databaseUrl: db.url, bus: serviceBus });
  try {
    const ds = service.app.get(DataSource);
    const t0 = performance.now();
    const mailboxes = await seed(ds, bindings);
    out(
      `\n${bindings.toLocaleString('en-US')} bindings (${mailboxes} mailboxes), seeded in ${Math.round(performance.now() - t0)} ms`,
    );

    // a. the use case on PostgreSQL, no bus.
    const useCase = service.app.get(ObserveMessageUseCase);
    const batchUseCase = service.app.get(ObserveBatchUseCase);
    const direct = messages('direct', Math.min(MESSAGES, 1000), bindings);
    const emit = <D extends EventDefinition>(def: D, payload: PayloadOf<D>) =>
      eventCatalog.create(def, payload);
    // A transaction context as the unit of work gives one: its after-commit effects (metrics) run once it committed.
    const inTransaction = async (work: (tx: TransactionContext) => Promise<unknown>): Promise<void> => {
      const effects: Array<() => void> = [];
      await ds.transaction((manager) => work({ manager, emit, afterCommit: (e) => effects.push(e) }));
      for (const effect of effects) effect();
    };
    const t1 = performance.now();
    for (const m of direct) {
      await inTransaction((tx) => useCase.execute(tx, randomUUID(), m));
    }
    out(`  decisions on PostgreSQL (sequential, 1 tx each): ${rate(direct.length, performance.now() - t1)}`);
    // The batch path (issue 16): the same use case, a batch of messages per transaction, as the binding runs it.
    for (const size of BATCH_SIZES) {
      const batched = messages(`batch${size}`, Math.min(MESSAGES, 1000), bindings);
      // Where the time goes: wall-clock ms per statement kind (its first words), summed over the batch run.
      const spent = new Map<string, { ms: number; n: number }>();
      const tb = performance.now();
      for (let i = 0; i < batched.length; i += size) {
        await inTransaction(async (tx) => {
          const { manager } = tx;
          const query = manager.query.bind(manager);
          manager.query = async (sql: string, params?: unknown[]) => {
            const t = performance.now();
            try {
              return await query(sql, params);
            } finally {
              // A prepared statement (queryPrepared) comes as pg's query config: its text is the statement.
              const text = typeof sql === 'string' ? sql : (sql as { text: string }).text;
              const kind = text.replace(/\s+/g, ' ').trim().slice(0, 48);
              const entry = spent.get(kind) ?? { ms: 0, n: 0 };
              entry.ms += performance.now() - t;
              entry.n++;
              spent.set(kind, entry);
            }
          };
          await batchUseCase.executeBatch(
            tx,
            batched.slice(i, i + size).map((observed) => ({ eventId: randomUUID(), observed })),
          );
        });
      }
      const total = performance.now() - tb;
      out(`  decisions on PostgreSQL (batches of ${size}, 1 tx each): ${rate(batched.length, total)}`);
      if (args.has('profile')) {
        const per = (ms: number) => (ms / batched.length).toFixed(3);
        const statements = [...spent].sort((a, b) => b[1].ms - a[1].ms);
        const inSql = statements.reduce((sum, [, e]) => sum + e.ms, 0);
        out(
          `    per message: ${per(total)} ms in all, ${per(inSql)} ms waiting on SQL (commit not included):`,
        );
        for (const [kind, e] of statements.slice(0, 6))
          out(`      ${per(e.ms)} ms  ${(e.n / batched.length).toFixed(2)}x  ${kind}`);
      }
    }

    // b. end to end over Kafka.
    const e2e = messages('e2e', MESSAGES, bindings);
    const expected = new Set(e2e.map((m) => m.message.providerMessageId));
    let seen = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const observer = await producer.subscribe({
      groupId: 'bench.observer',
      topics: [Topics.syncMessages],
      handler: async (event: EventEnvelope) => {
        if (!eventCatalog.is(event, messageSyncedV1)) return;
        if (expected.delete(event.payload.message.providerMessageId)) {
          seen++;
          if (expected.size === 0) done();
        }
      },
    });
    const t2 = performance.now();
    for (let i = 0; i < e2e.length; i += 500) {
      await producer.publish(
        e2e.slice(i, i + 500).map((payload) => ({
          topic: Topics.mailObserved,
          envelope: eventCatalog.create(messageObservedV1, payload),
        })),
      );
    }
    const published = performance.now() - t2;
    await Promise.race([finished, new Promise((r) => setTimeout(r, 300_000))]);
    const elapsed = performance.now() - t2;
    out(
      `  end to end observed → synced on Kafka: ${rate(seen, elapsed)} (${seen}/${e2e.length} messages in ${Math.round(elapsed)} ms; publishing took ${Math.round(published)} ms)`,
    );
    await observer.stop();
  } finally {
    await service.close();
    await serviceBus.close();
    await producer.close();
    await db.drop();
    await kafka.stop();
  }
}

async function main(): Promise<void> {
  out(`sync-engine bench: node ${process.version}, ${MESSAGES} messages per size`);
  benchPure();
  for (const size of SIZES) await benchSize(size);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
