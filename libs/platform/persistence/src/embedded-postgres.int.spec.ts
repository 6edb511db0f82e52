import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';

describe('embedded PostgreSQL (PGlite over the wire)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-pglite-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  // A correctness check under concurrency. It did not reproduce the Parse/Bind interleaving seen under e2e load (see
  // keepExtendedQueriesTogether in the worker), so it does not prove that fix.
  it("answers many connections' parameterized queries correctly when they run at once", async () => {
    const pg = await startEmbeddedPostgres();
    const clients = Array.from({ length: 4 }, () => new Client(pg.url));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      // Different parameter counts per connection: an interleaved Bind would meet another connection's statement.
      const results = await Promise.all(
        clients.map((c, i) =>
          Promise.all(
            Array.from({ length: 60 }, (_, n) => {
              const params = Array.from({ length: i + 1 }, (_, k) => n * 10 + k);
              const sql = `SELECT ${params.map((_, k) => `$${k + 1}::int`).join(' + ')} AS total`;
              return c.query<{ total: number }>(sql, params).then((r) => r.rows[0].total);
            }),
          ),
        ),
      );
      results.forEach((totals, i) =>
        totals.forEach((total, n) =>
          expect(total).toBe(Array.from({ length: i + 1 }, (_, k) => n * 10 + k).reduce((a, b) => a + b, 0)),
        ),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await pg.stop();
    }
  });

  it('serves the pg driver, keeps data in its folder across restarts, and serialises concurrent transactions', async () => {
    const first = await startEmbeddedPostgres({ dataDir: path.join(dir, 'db') });
    const a = new Client(first.url);
    const b = new Client(first.url);
    await a.connect();
    await b.connect();
    await a.query(
      'CREATE SCHEMA s1; CREATE TABLE s1.t (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), v int)',
    );
    await a.query('BEGIN');
    await a.query('INSERT INTO s1.t (v) VALUES (1)');
    // b's statement waits for a's transaction: the multiplexer gives a transaction the backend exclusively.
    const pending = b.query('INSERT INTO s1.t (v) VALUES (2)');
    await a.query('COMMIT');
    await pending;
    await a.end();
    await b.end();
    await first.stop();

    const second = await startEmbeddedPostgres({ dataDir: path.join(dir, 'db') });
    const c = new Client(second.url);
    await c.connect();
    const { rows } = await c.query<{ v: number }>('SELECT v FROM s1.t ORDER BY v');
    expect(rows.map((r) => r.v)).toEqual([1, 2]);
    // Memory settings for one embedded machine (PGlite's WASM memory never shrinks), also on an existing folder.
    const settings = await c.query<{ name: string; setting: string; unit: string }>(
      `SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'maintenance_work_mem', 'max_worker_processes') ORDER BY name`,
    );
    expect(settings.rows.map((r) => `${r.name}=${r.setting} × ${r.unit ?? ''}`)).toEqual([
      'maintenance_work_mem=16384 × kB',
      'max_worker_processes=0 × ',
      'shared_buffers=4096 × 8kB',
    ]);
    await c.end();
    await second.stop();
  });
});
