import { MigrationInterface, QueryRunner } from 'typeorm';

/** CON-7: watch/subscription renewals failing in a row, reported so the CRM is warned before the watch lapses. */
export class WatchRenewalFailures1732500420000 implements MigrationInterface {
  name = 'WatchRenewalFailures1732500420000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE mail_gateway.mailboxes ADD COLUMN renewal_failures integer NOT NULL DEFAULT 0`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mail_gateway.mailboxes DROP COLUMN renewal_failures`);
  }
}
