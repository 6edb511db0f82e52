import { MigrationInterface, QueryRunner } from 'typeorm';

/** Observed message ids expire (OBSERVED_MESSAGE_RETENTION_DAYS): find old rows fast. */
export class ObservedMessagesRetention1732500100000 implements MigrationInterface {
  name = 'ObservedMessagesRetention1732500100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX observed_messages_observed_at_idx ON mail_gateway.observed_messages (observed_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX mail_gateway.observed_messages_observed_at_idx`);
  }
}
