import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-message failures of pulls (SYN-10): attempts counted across pulls; after MESSAGE_MAX_ATTEMPTS the message is
 * quarantined (the mailbox moves on) until an operator retries it.
 */
export class MessageQuarantine1732500200000 implements MigrationInterface {
  name = 'MessageQuarantine1732500200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mail_gateway.message_failures (
        id uuid PRIMARY KEY,
        mailbox_id uuid NOT NULL REFERENCES mail_gateway.mailboxes (id) ON DELETE CASCADE,
        provider_message_id text NOT NULL,
        stage text NOT NULL,
        error_class text NOT NULL,
        error_message text NOT NULL,
        attempts int NOT NULL,
        context jsonb,
        first_failed_at timestamptz NOT NULL DEFAULT now(),
        last_failed_at timestamptz NOT NULL DEFAULT now(),
        quarantined_at timestamptz,
        resolved_at timestamptz,
        UNIQUE (mailbox_id, provider_message_id)
      )`);
    await q.query(
      `CREATE INDEX message_failures_quarantined_idx ON mail_gateway.message_failures (quarantined_at)
        WHERE quarantined_at IS NOT NULL AND resolved_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mail_gateway.message_failures`);
  }
}
