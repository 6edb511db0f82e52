/**
 * conversations' synced-message recording throughput (issue 16). Prints numbers, asserts nothing.
 *
 *   node tools/run-ts.cjs bench/conversations-record.bench.ts [--messages 1000] [--batches 10,100] [--contacts 100]
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (or TEST_DATABASE_ADMIN_URL).
 *
 * 1. the record use case on PostgreSQL, one transaction (inbox row + record) per message, sequential;
 * 2. the same, a batch of messages per transaction (UnitOfWork.handleBatch: one inbox statement, then the use case per
 *    message), as the consumer binding's batch path runs it;
 * 3. through the in-process bus and the real binding (@OnEvent → batch path): message.synced published in one go,
 *    timed until every event is recorded.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { eventCatalog, messageSyncedV1, Topics } from '@mailbridge/contracts';
import { InProcessEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { createTestDatabase } from '@mailbridge/testing';
import { startServiceUnderTest } from '@mailbridge/testing-services';
import { RecordSyncedMessageUseCase } from '../apps/conversations/src/messages/record-synced-message.use-case';
import { conversationsService } from '../apps/conversations/src/service';
import { synced } from '../apps/conversations/src/testing/events';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const MESSAGES = Number(args.get('messages') ?? 1000);
const BATCH_SIZES = (args.get('batches') ?? '10,100').split(',').map(Number);
const CONTACTS = Number(args.get('contacts') ?? 100);

const out = (line: string) => process.stdout.write(`${line}\n`);
const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;

const payloads = (run: string, n: number) =>
  Array.from({ length: n }, (_, i) =>
    synced('loc_bench', `ct_${i % CONTACTS}`, {
      message: { providerMessageId: `${run}-${i}`, rfcMessageId: `<${run}-${i}@bench.example>` },
    }),
  );

async function main(): Promise<void> {
  out(`conversations record bench: node ${process.version}, ${MESSAGES} messages, ${CONTACTS} contacts`);
  const db = await createTestDatabase('mb_bench_conv');
  const objectDir = await mkdtemp(path.join(tmpdir(), 'mb-bench-conv-'));
  const bus = new InProcessEventBus({
    catalog: eventCatalog,
    logger: createLogger({ service: 'bench', level: 'silent' }),
  });
  const svc = await startServiceUnderTest(conversationsService, {
    databaseUrl: db.url,
    bus,
    env: { OBJECT_STORE_DIR: objectDir },
  });
  try {
    const useCase = svc.app.get(RecordSyncedMessageUseCase);
    const uow = svc.app.get<UnitOfWork>(UNIT_OF_WORK);

    const sequential = payloads('seq', MESSAGES);
    const t0 = performance.now();
    for (const p of sequential) {
      await uow.handleOnce('bench', { id: randomUUID() }, async (tx) => {
        await useCase.execute(tx, p);
      });
    }
    out(`  recorded on PostgreSQL (sequential, 1 tx each): ${rate(MESSAGES, performance.now() - t0)}`);

    for (const size of BATCH_SIZES) {
      const batch = payloads(`b${size}`, MESSAGES).map((p) => ({ id: randomUUID(), p }));
      const t1 = performance.now();
      for (let i = 0; i < batch.length; i += size) {
        await uow.handleBatch('bench', batch.slice(i, i + size), async (fresh, tx) => {
          for (const e of fresh) await useCase.execute(tx, e.p);
        });
      }
      out(
        `  recorded on PostgreSQL (batches of ${size}, 1 tx each): ${rate(MESSAGES, performance.now() - t1)}`,
      );
    }

    const ds = svc.app.get(DataSource);
    const viaBus = payloads('bus', MESSAGES);
    const t2 = performance.now();
    // publish resolves once the group has handled every event (in-process bus).
    await bus.publish(
      viaBus.map((p) => ({ topic: Topics.syncMessages, envelope: eventCatalog.create(messageSyncedV1, p) })),
    );
    const elapsed = performance.now() - t2;
    const [{ n }]: Array<{ n: number }> = await ds.query(
      `SELECT count(*)::int AS n FROM conversations.inbox WHERE consumer = 'synced-messages'`,
    );
    out(
      `  through the in-process bus and the binding (batch path): ${rate(n, elapsed)} (${n}/${MESSAGES} recorded)`,
    );
  } finally {
    await svc.close();
    await bus.close();
    await db.drop();
    await rm(objectDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
