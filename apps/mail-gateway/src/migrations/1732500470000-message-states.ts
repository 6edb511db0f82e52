import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SYN-7: the last known mailbox state of each synced message (null: never seen), and the last read/unread change we
 * applied for the CRM, so the change coming back through history/delta is recognised, not bounced.
 */
export class MessageStates1732500470000 implements MigrationInterface {
  name = 'MessageStates1732500470000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mail_gateway.message_states (
        mailbox_id uuid NOT NULL REFERENCES mail_gateway.mailboxes (id) ON DELETE CASCADE,
        provider_message_id text NOT NULL,
        read boolean,
        trashed boolean,
        deleted boolean,
        changed_at timestamptz NOT NULL,
        applied_read boolean,
        applied_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mailbox_id, provider_message_id)
      )`);
    await q.query(`CREATE INDEX message_states_updated_at_idx ON mail_gateway.message_states (updated_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mail_gateway.message_states`);
  }
}
