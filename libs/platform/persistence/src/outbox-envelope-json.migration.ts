import { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './data-source.factory';

/**
 * The outbox envelope as `json`, not `jsonb` (issue 16): nothing queries inside it, the relay only reads it back whole,
 * and `jsonb` made the server build a binary tree of every event on insert and print it again on read (15 to 30 µs
 * of server CPU per event of 1.7 KB). `json` still checks it is JSON and reads back as an object, and both types cast
 * to each other on assignment, so a writer or relay of either version works with either column.
 */
export class PlatformOutboxEnvelopeJson1732660000000 implements MigrationInterface {
  name = 'PlatformOutboxEnvelopeJson1732660000000';

  async up(q: QueryRunner): Promise<void> {
    const s = `"${schemaOf(q.connection)}"`;
    // The rewrite holds the outbox exclusively: fail cleanly (the upgrade can be retried) rather than queue every write
    // of the running version behind a long transaction.
    await q.query(`SET LOCAL lock_timeout = '10s'`);
    await q.query(`ALTER TABLE ${s}.outbox ALTER COLUMN envelope TYPE json USING envelope::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${schemaOf(q.connection)}"`;
    await q.query(`ALTER TABLE ${s}.outbox ALTER COLUMN envelope TYPE jsonb USING envelope::jsonb`);
  }
}
