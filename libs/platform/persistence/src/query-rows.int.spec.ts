import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { contactUpsertedV1, eventCatalog } from '@mailbridge/contracts';
import { createTestDatabase } from '@mailbridge/testing';
import {
  POOL_IDLE_TIMEOUT_MS,
  createServiceDataSource,
  initializeServiceDataSource,
  preparesStatements,
} from './data-source.factory';
import { startEmbeddedPostgres } from './embedded-postgres';
import { queryPrepared } from './query-rows';
import { UnitOfWork } from './unit-of-work';

/** The statements prepared on the connection `tx` runs on. */
const preparedOn = async (tx: EntityManager) =>
  (
    (await tx.query('SELECT name, statement FROM pg_prepared_statements')) as Array<{
      name: string;
      statement: string;
    }>
  )
    .filter((s) => s.name !== '')
    .map((s) => s.statement);

const withDataSource = async (
  url: string,
  poolSize: number,
  test: (ds: DataSource) => Promise<void>,
  preparedStatements?: boolean,
) => {
  const ds = createServiceDataSource({
    url,
    schema: 'svc',
    entities: [],
    migrations: [],
    poolSize,
    preparedStatements,
  });
  try {
    await initializeServiceDataSource(ds, { runMigrations: true });
    await test(ds);
  } finally {
    if (ds.isInitialized) await ds.destroy();
  }
};

describe('queryPrepared (issue 16: parse and plan a hot statement once per connection)', () => {
  it('on PostgreSQL: the inbox and outbox statements of a unit of work are named prepared statements', async () => {
    const db = await createTestDatabase();
    try {
      // One connection: what one unit of work prepared is seen by the next.
      await withDataSource(db.url, 1, async (ds) => {
        expect(preparesStatements(ds)).toBe(true);
        const uow = new UnitOfWork(ds, eventCatalog);
        await uow.run(async (tx) => {
          tx.emit(contactUpsertedV1, {
            locationId: 'loc_a',
            contactId: 'c_1',
            email: 'c_1@example.com',
            name: null,
            assignedUserId: null,
            createdAt: '2026-11-01T00:00:00.000Z',
            revision: 1,
          });
        });
        expect((await ds.query("SELECT envelope->>'type' AS type FROM svc.outbox"))[0].type).toBe(
          'contact.upserted',
        );
        const statements: string[][] = [];
        for (let i = 0; i < 2; i++) {
          const ids = [randomUUID(), randomUUID()];
          const handled = await uow.handleBatch(
            'consumer',
            ids.map((id) => ({ id })),
            async (fresh, tx) => {
              expect(fresh.map((e) => e.id)).toEqual(ids);
              expect(await queryPrepared(tx.manager, 'SELECT $1::int + 1 AS n', [i])).toEqual([{ n: i + 1 }]);
              statements.push(await preparedOn(tx.manager));
            },
            { quarantinedBy: 'group' },
          );
          expect(handled).toBe(2);
          // A redelivered batch has no effect: the prepared inbox insert answers what it inserted, as before.
          expect(
            await uow.handleBatch(
              'consumer',
              ids.map((id) => ({ id })),
              async () => {
                throw new Error('handled twice');
              },
            ),
          ).toBe(0);
        }
        // The generic plan of the quarantine check (PostgreSQL's choice after five runs) probes the unique key per
        // event: never an anti join that reads the group's every quarantined id, whatever the table held when planned.
        const [inboxStatement] = (await ds.query(
          `SELECT name FROM pg_prepared_statements WHERE statement LIKE '%"svc".quarantine%'`,
        )) as Array<{ name: string }>;
        const plan = await ds.transaction(async (tx) => {
          await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
          const rows = (await tx.query(
            `EXPLAIN (FORMAT JSON) EXECUTE ${inboxStatement.name}('consumer', '{${randomUUID()}}', 'group')`,
          )) as Array<{ 'QUERY PLAN': unknown }>;
          return JSON.stringify(rows[0]['QUERY PLAN']);
        });
        expect(plan).not.toContain('Anti Join');
        expect(plan).toContain('"Index Cond":"((consumer_group = $3) AND (event_id = e.id))"');
        for (const list of statements) {
          expect(list.some((s) => s.includes('INSERT INTO "svc".inbox'))).toBe(true);
          expect(list.some((s) => s.includes('INSERT INTO "svc".outbox'))).toBe(true);
          expect(list).toContain('SELECT $1::int + 1 AS n');
        }
      });
    } finally {
      await db.drop();
    }
  });

  it('on an embedded PGlite server (one session for every connection): unnamed, so no two connections collide', async () => {
    const pg = await startEmbeddedPostgres();
    try {
      await withDataSource(pg.url, 2, async (ds) => {
        expect(preparesStatements(ds)).toBe(false);
        // Two pool connections at once, each a statement it would otherwise prepare under the same name.
        const answers = await Promise.all(
          [1, 2].map((n) =>
            ds.transaction(async (tx) => {
              const rows = await queryPrepared(tx, 'SELECT $1::int + 1 AS n', [n]);
              return { rows, prepared: await preparedOn(tx) };
            }),
          ),
        );
        expect(answers).toEqual([
          { rows: [{ n: 2 }], prepared: [] },
          { rows: [{ n: 3 }], prepared: [] },
        ]);
      });
    } finally {
      await pg.stop();
    }
  });

  it('on PostgreSQL with DATABASE_PREPARED_STATEMENTS off (a transaction-mode pooler): unnamed', async () => {
    const db = await createTestDatabase();
    try {
      await withDataSource(
        db.url,
        1,
        async (ds) => {
          expect(preparesStatements(ds)).toBe(false);
          const uow = new UnitOfWork(ds, eventCatalog);
          const ids = [randomUUID()];
          const seen: string[][] = [];
          const handled = await uow.handleBatch(
            'consumer',
            ids.map((id) => ({ id })),
            async (_fresh, tx) => void seen.push(await preparedOn(tx.manager)),
            { quarantinedBy: 'group' },
          );
          expect(handled).toBe(1);
          // Still deduplicated by the unnamed statement.
          expect(
            await uow.handleBatch(
              'consumer',
              ids.map((id) => ({ id })),
              async () => undefined,
            ),
          ).toBe(0);
          await ds.transaction(async (tx) => void seen.push(await preparedOn(tx)));
          expect(seen).toEqual([[], []]);
        },
        false,
      );
    } finally {
      await db.drop();
    }
  });

  it("keeps an idle pool connection for a minute, not pg's 10 s: its session and prepared statements outlive a quiet spell", async () => {
    const db = await createTestDatabase();
    const session = async (poolIdleTimeoutMs?: number) => {
      const ds = createServiceDataSource({
        url: db.url,
        schema: 'svc',
        entities: [],
        migrations: [],
        poolSize: 1,
        ...(poolIdleTimeoutMs === undefined ? {} : { poolIdleTimeoutMs }),
      });
      try {
        await initializeServiceDataSource(ds, { runMigrations: true });
        const pool = (
          ds.driver as unknown as {
            master: { options: { idleTimeoutMillis?: number; keepAlive?: boolean } };
          }
        ).master;
        const pid = async () =>
          ((await queryPrepared(ds, 'SELECT pg_backend_pid() AS pid', [])) as Array<{ pid: number }>)[0].pid;
        const before = await pid();
        await new Promise((resolve) => setTimeout(resolve, 800));
        const after = await pid();
        const prepared = await ds.transaction(preparedOn);
        return {
          idleTimeout: pool.options.idleTimeoutMillis,
          keepAlive: pool.options.keepAlive,
          sameSession: before === after,
          prepared,
        };
      } finally {
        if (ds.isInitialized) await ds.destroy();
      }
    };
    try {
      // The pool's own setting is what tells a minute from pg's 10 s (a test cannot sit idle that long); the short
      // spells show what it keeps and what closing costs.
      const kept = await session();
      expect(kept.idleTimeout).toBe(POOL_IDLE_TIMEOUT_MS);
      expect(POOL_IDLE_TIMEOUT_MS).toBeGreaterThanOrEqual(60_000);
      expect(kept).toMatchObject({
        keepAlive: true,
        sameSession: true,
        prepared: ['SELECT pg_backend_pid() AS pid'],
      });
      // What a short idle timeout costs: a new server session, which parses and plans everything again.
      const closed = await session(200);
      expect(closed).toMatchObject({ idleTimeout: 200, sameSession: false });
    } finally {
      await db.drop();
    }
  });
});
