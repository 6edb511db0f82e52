// The raw ceiling: batched multi-row INSERTs of message-sized rows, one statement (one transaction) per batch, on the
// same PostgreSQL the mode uses (the server at 127.0.0.1:5432 for distributed, PGlite over the same wire server the
// embedded platform uses for embedded).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '@mailbridge/platform-persistence';
import { createTestDatabase } from '@mailbridge/testing';

const BATCH = 500;

async function insertRows(url: string, rows: number): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE raw_bench (
      id uuid PRIMARY KEY, mailbox_key text NOT NULL, provider_message_id text NOT NULL, subject text,
      body text, received_at timestamptz NOT NULL)`);
    const body = 'x'.repeat(400);
    const batch = async (n: number) => {
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let i = 0; i < n; i++) {
        const b = values.length;
        tuples.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, now())`);
        values.push(randomUUID(), `google:m${i % 50}@bench.test`, randomUUID(), `subject ${i}`, body);
      }
      await client.query(`INSERT INTO raw_bench VALUES ${tuples.join(', ')}`, values);
    };
    await batch(BATCH); // warm-up, not timed
    const t0 = performance.now();
    for (let done = 0; done < rows; done += BATCH) await batch(Math.min(BATCH, rows - done));
    return (rows / (performance.now() - t0)) * 1000;
  } finally {
    await client.end();
  }
}

/** Rows/s of batched inserts for the mode's database. */
export async function rawInsertRate(mode: 'embedded' | 'distributed', rows: number): Promise<number> {
  if (mode === 'distributed') {
    const db = await createTestDatabase('mb_bench_raw');
    try {
      return await insertRows(db.url, rows);
    } finally {
      await db.drop().catch(() => undefined);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-bench-pglite-'));
  const pg = await startEmbeddedPostgres({ dataDir: dir });
  try {
    return await insertRows(pg.url, rows);
  } finally {
    await pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
