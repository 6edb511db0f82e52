import { MigrationInterface, QueryRunner } from 'typeorm';

/** When the message that created a binding reached the mailbox: older mail of the same provider thread never syncs. */
export class BindingOriginAt1732400400000 implements MigrationInterface {
  name = 'BindingOriginAt1732400400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sync_engine.thread_binding ADD COLUMN origin_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sync_engine.thread_binding DROP COLUMN origin_at`);
  }
}
