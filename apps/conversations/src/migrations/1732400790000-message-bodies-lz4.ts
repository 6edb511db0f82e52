import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 16: a message's bodies (tens of KB of real mail) compressed with lz4 where the server has it, instead of
 * PostgreSQL's default pglz: writing, reading and deleting 34 KB of text cost 0.7 server CPU-ms with pglz, 0.3 with lz4
 * (which keeps about a third more bytes). A server built without lz4 (PGlite) keeps pglz: the bodies are kept for good,
 * and compressing them once is worth their disk. Rows written before stay as they are.
 */
export class MessageBodiesLz41732400790000 implements MigrationInterface {
  name = 'MessageBodiesLz41732400790000';

  async up(q: QueryRunner): Promise<void> {
    const [setting] = (await q.query(
      `SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`,
    )) as Array<{ lz4: boolean }>;
    if (!setting?.lz4) return;
    // A catalog change only, but it waits for the table's lock: fail cleanly rather than queue every write behind it.
    await q.query(`SET LOCAL lock_timeout = '10s'`);
    await q.query(
      `ALTER TABLE conversations.messages
         ALTER COLUMN text_body SET COMPRESSION lz4, ALTER COLUMN html_body SET COMPRESSION lz4`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE conversations.messages
         ALTER COLUMN text_body SET COMPRESSION DEFAULT, ALTER COLUMN html_body SET COMPRESSION DEFAULT`,
    );
  }
}
