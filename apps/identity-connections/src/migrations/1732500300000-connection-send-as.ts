import { MigrationInterface, QueryRunner } from 'typeorm';

/** SND-7: the mailbox's verified send-as addresses (as last read from the provider) and the signature setting. */
export class ConnectionSendAs1732500300000 implements MigrationInterface {
  name = 'ConnectionSendAs1732500300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE identity_connections.connections
        ADD COLUMN send_as jsonb,
        ADD COLUMN send_as_read_at timestamptz,
        ADD COLUMN append_signature boolean NOT NULL DEFAULT false,
        ADD COLUMN crm_signature text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE identity_connections.connections
        DROP COLUMN send_as, DROP COLUMN send_as_read_at, DROP COLUMN append_signature, DROP COLUMN crm_signature`);
  }
}
