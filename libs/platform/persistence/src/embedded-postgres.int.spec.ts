import fs from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';

/** Frontend messages by hand, to send a sequence in pieces (the `pg` driver always writes Parse … Sync at once). */
const wire = {
  message: (type: string, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    const head = Buffer.alloc(5);
    head.write(type, 0);
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  },
  cstr: (s: string) => Buffer.from(`${s}\0`),
  int16: (n: number) => Buffer.from([n >> 8, n & 0xff]),
  parse: (sql: string) => wire.message('P', wire.cstr(''), wire.cstr(sql), wire.int16(0)),
  bind: (params: string[]) => {
    const values = params.map((p) => {
      const len = Buffer.alloc(4);
      len.writeInt32BE(Buffer.byteLength(p));
      return Buffer.concat([len, Buffer.from(p)]);
    });
    return wire.message(
      'B',
      wire.cstr(''),
      wire.cstr(''),
      wire.int16(0),
      wire.int16(params.length),
      ...values,
      wire.int16(0),
    );
  },
  execute: () => wire.message('E', wire.cstr(''), Buffer.alloc(4)),
  sync: () => wire.message('S'),
};

/** A raw connection: writes bytes, and reads replies up to the next ReadyForQuery. */
async function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  let buffered = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  socket.on('data', (d) => {
    buffered = Buffer.concat([buffered, d]);
    waiting?.();
  });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  /** Messages up to and including the next ReadyForQuery: data rows' first column, errors' text. */
  const untilReady = async () => {
    const out: { rows: string[]; errors: string[] } = { rows: [], errors: [] };
    for (;;) {
      while (buffered.length >= 5 && buffered.length >= 1 + buffered.readInt32BE(1)) {
        const type = String.fromCharCode(buffered[0]);
        const body = buffered.subarray(5, 1 + buffered.readInt32BE(1));
        buffered = buffered.subarray(1 + buffered.readInt32BE(1));
        if (type === 'Z') return out;
        if (type === 'D') out.rows.push(body.subarray(6, 6 + body.readInt32BE(2)).toString());
        if (type === 'E') out.errors.push(body.toString('latin1'));
      }
      await new Promise<void>((resolve) => (waiting = resolve));
    }
  };
  const params = Buffer.concat([
    wire.cstr('user'),
    wire.cstr('postgres'),
    wire.cstr('database'),
    wire.cstr('postgres'),
    Buffer.from([0]),
  ]);
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(params.length + 8);
  startup.writeInt32BE(196608, 4);
  socket.write(Buffer.concat([startup, params]));
  await untilReady();
  return { socket, untilReady, send: (...m: Buffer[]) => socket.write(Buffer.concat(m)) };
}

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

  it("keeps each connection's parameterized statements and transactions apart when they interleave", async () => {
    const pg = await startEmbeddedPostgres();
    const clients = Array.from({ length: 5 }, () => new Client(pg.url));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      await clients[0].query('CREATE TABLE t (client int, n int, v text)');
      // Odd clients write in transactions (their own rows visible to them before COMMIT), even ones without.
      await Promise.all(
        clients.map(async (c, i) => {
          for (let n = 0; n < 25; n++) {
            if (i % 2) await c.query('BEGIN');
            await c.query('INSERT INTO t (client, n, v) VALUES ($1, $2, $3)', [i, n, `c${i}-${n}`]);
            const mine = await c.query<{ count: string }>('SELECT count(*) FROM t WHERE client = $1', [i]);
            // Every fifth transaction of an odd client rolls back.
            expect(Number(mine.rows[0].count)).toBe(n + 1 - (i % 2 ? Math.floor(n / 5) : 0));
            if (i % 2) await c.query(n % 5 === 4 ? 'ROLLBACK' : 'COMMIT');
          }
        }),
      );
      const { rows } = await clients[0].query<{ client: number; count: string }>(
        'SELECT client, count(*) FROM t GROUP BY client ORDER BY client',
      );
      expect(rows.map((r) => [r.client, Number(r.count)])).toEqual([
        [0, 25],
        [1, 20],
        [2, 25],
        [3, 20],
        [4, 25],
      ]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await pg.stop();
    }
  });

  it('answers an error mid-sequence and goes on serving that connection and the others', async () => {
    const pg = await startEmbeddedPostgres();
    const a = new Client(pg.url);
    const b = new Client(pg.url);
    try {
      await a.connect();
      await b.connect();
      // Bind fails (not an int): the backend skips to Sync; a's next statements and b's run.
      const [bad, good] = await Promise.allSettled([
        a.query('SELECT $1::int AS v', ['not a number']),
        b.query<{ v: number }>('SELECT $1::int AS v', [7]),
      ]);
      expect(bad.status).toBe('rejected');
      expect(good.status === 'fulfilled' && good.value.rows[0].v).toBe(7);
      await a.query('BEGIN');
      await expect(a.query('SELECT 1 / $1::int', [0])).rejects.toThrow(/division by zero/);
      await expect(a.query('SELECT 1')).rejects.toThrow(/aborted/);
      await a.query('ROLLBACK');
      expect((await a.query<{ v: number }>('SELECT $1::int + 1 AS v', [1])).rows[0].v).toBe(2);
      expect((await b.query<{ v: number }>('SELECT $1::int + 2 AS v', [1])).rows[0].v).toBe(3);
    } finally {
      await Promise.all([a.end(), b.end()]);
      await pg.stop();
    }
  });

  it("holds a sequence until its Sync: another connection's statements run meanwhile and do not replace it", async () => {
    const pg = await startEmbeddedPostgres();
    const c = new Client(pg.url);
    try {
      await c.connect();
      const raw = await rawConnection(pg.url);
      // Parse and Bind now, Execute and Sync later; c parses its own unnamed statements in between.
      raw.send(wire.parse("SELECT $1::text || '-raw' AS v"), wire.bind(['x']));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await c.query<{ v: number }>('SELECT $1::int * 2 AS v', [21])).rows[0].v).toBe(42);
      raw.send(wire.execute(), wire.sync());
      expect(await raw.untilReady()).toEqual({ rows: ['x-raw'], errors: [] });
      raw.socket.destroy();
    } finally {
      await c.end();
      await pg.stop();
    }
  });

  it('lets a connection leave mid-sequence or mid-transaction without holding the backend', async () => {
    const pg = await startEmbeddedPostgres();
    const c = new Client(pg.url);
    try {
      await c.connect();
      await c.query('CREATE TABLE t (v int)');
      // Both connect first: while a transaction is open, the others wait, a new connection's startup too.
      const inTransaction = await rawConnection(pg.url);
      const midSequence = await rawConnection(pg.url);
      inTransaction.send(wire.message('Q', wire.cstr('BEGIN; INSERT INTO t VALUES (1)')));
      await inTransaction.untilReady();
      // Mid-transaction and mid-sequence (Parse and Bind sent, no Sync), then gone.
      inTransaction.send(wire.parse('INSERT INTO t VALUES ($1::int)'), wire.bind(['2']));
      midSequence.send(wire.parse('SELECT $1::int AS v'), wire.bind(['3']), wire.execute());
      inTransaction.socket.destroy();
      midSequence.socket.destroy();
      // c waits for the open transaction, which the server rolls back when its connection leaves.
      expect((await c.query<{ n: string }>('SELECT count(*) AS n FROM t WHERE v > $1', [0])).rows[0].n).toBe(
        '0',
      );
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', [4])).rows[0].v).toBe(4);
    } finally {
      await c.end();
      await pg.stop();
    }
  });

  it('a Terminate after a sequence with no Sync is not run together with it: the backend goes on serving', async () => {
    const pg = await startEmbeddedPostgres();
    const c = new Client(pg.url);
    try {
      await c.connect();
      await c.query('CREATE TABLE t (v int)');
      const leaving = await rawConnection(pg.url);
      leaving.send(
        wire.parse('INSERT INTO t VALUES ($1::int)'),
        wire.bind(['1']),
        wire.execute(),
        wire.message('X'),
      );
      await new Promise<void>((resolve) => leaving.socket.once('close', () => resolve()).end());
      // The unsynced insert never ran, and the shared backend still answers everyone.
      expect((await c.query<{ n: string }>('SELECT count(*) AS n FROM t')).rows[0].n).toBe('0');
      const other = await rawConnection(pg.url);
      other.send(wire.parse('SELECT $1::int AS v'), wire.bind(['7']), wire.execute(), wire.sync());
      expect((await other.untilReady()).rows).toEqual(['7']);
      other.socket.destroy();
    } finally {
      await c.end();
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
