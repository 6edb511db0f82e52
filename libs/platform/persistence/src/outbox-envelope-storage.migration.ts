import { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './data-source.factory';

/**
 * How the outbox keeps a large envelope (issue 16). An observed message carries its bodies (up to
 * MAX_INLINE_BODY_CHARS each), so real mail makes envelopes of tens of KB, which PostgreSQL compresses on insert with
 * its default, pglz: inserting, reading back and deleting an envelope of 34 KB cost 0.7 server CPU-ms with it, 0.3 with
 * lz4, for a row that lives milliseconds (lz4 still shrinks the WAL). A server built without lz4 (PGlite) keeps the
 * envelope uncompressed instead (EXTERNAL: 1.0 → 0.6 ms in PGlite). Only new rows are written the new way; the change
 * rewrites nothing.
 */
export class PlatformOutboxEnvelopeStorage1732670000000 implements MigrationInterface {
  name = 'PlatformOutboxEnvelopeStorage1732670000000';

  async up(q: QueryRunner): Promise<void> {
    const s = `"${schemaOf(q.connection)}"`;
    const [setting] = (await q.query(
      `SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`,
    )) as Array<{ lz4: boolean }>;
    // A catalog change only, but it waits for the outbox's lock: fail cleanly rather than queue every write behind it.
    await q.query(`SET LOCAL lock_timeout = '10s'`);
    await q.query(
      setting?.lz4
        ? `ALTER TABLE ${s}.outbox ALTER COLUMN envelope SET COMPRESSION lz4`
        : `ALTER TABLE ${s}.outbox ALTER COLUMN envelope SET STORAGE EXTERNAL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${schemaOf(q.connection)}"`;
    await q.query(
      `ALTER TABLE ${s}.outbox ALTER COLUMN envelope SET STORAGE EXTENDED, ALTER COLUMN envelope SET COMPRESSION DEFAULT`,
    );
  }
}
