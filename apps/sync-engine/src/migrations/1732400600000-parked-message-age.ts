import { MigrationInterface, QueryRunner } from 'typeorm';

/** Parked messages expire across all mailboxes (the retention job): find old rows without a mailbox key. */
export class ParkedMessageAge1732400600000 implements MigrationInterface {
  name = 'ParkedMessageAge1732400600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX parked_message_parked_at_idx ON sync_engine.parked_message (parked_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX sync_engine.parked_message_parked_at_idx`);
  }
}
