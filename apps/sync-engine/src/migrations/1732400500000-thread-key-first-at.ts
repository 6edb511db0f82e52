import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per provider thread of a binding, when its earliest synced message reached the mailbox: older mail of that thread
 * never syncs (a binding's origin_at is one time for all the provider threads it gathers). Existing keys start from it.
 */
export class ThreadKeyFirstAt1732400500000 implements MigrationInterface {
  name = 'ThreadKeyFirstAt1732400500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sync_engine.thread_key ADD COLUMN first_at timestamptz`);
    await q.query(
      `UPDATE sync_engine.thread_key k SET first_at = b.origin_at
       FROM sync_engine.thread_binding b
       WHERE b.binding_id = k.binding_id AND b.origin_at IS NOT NULL AND k.key LIKE 't:%'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sync_engine.thread_key DROP COLUMN first_at`);
  }
}
