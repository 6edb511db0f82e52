import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SYN-9: who wrote a received message (`classification`), and why a CRM send bounced (`bounce`: failed recipients,
 * status code, diagnostic), with the status `bounced`. A bounce finds its CRM send by the Message-ID we gave it, across the location.
 */
export class MessageClassification1732400750000 implements MigrationInterface {
  name = 'MessageClassification1732400750000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE conversations.messages
        ADD COLUMN IF NOT EXISTS classification text NULL,
        ADD COLUMN IF NOT EXISTS bounce jsonb NULL`);
    await q.query(`ALTER TABLE conversations.messages DROP CONSTRAINT IF EXISTS messages_status_check`);
    await q.query(`
      ALTER TABLE conversations.messages ADD CONSTRAINT messages_status_check
        CHECK (status IN ('pending', 'sent', 'failed', 'received', 'bounced'))`);
    await q.query(`
      ALTER TABLE conversations.messages ADD CONSTRAINT messages_classification_check
        CHECK (classification IS NULL OR classification IN ('human', 'auto_reply', 'bounce', 'bulk'))`);
    await q.query(`
      CREATE INDEX IF NOT EXISTS messages_crm_rfc_id_idx
        ON conversations.messages (location_id, rfc_message_id)
        WHERE source = 'crm' AND rfc_message_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS conversations.messages_crm_rfc_id_idx`);
    await q.query(`UPDATE conversations.messages SET status = 'sent' WHERE status = 'bounced'`);
    await q.query(`ALTER TABLE conversations.messages DROP CONSTRAINT IF EXISTS messages_status_check`);
    await q.query(`
      ALTER TABLE conversations.messages ADD CONSTRAINT messages_status_check
        CHECK (status IN ('pending', 'sent', 'failed', 'received'))`);
    await q.query(
      `ALTER TABLE conversations.messages DROP COLUMN IF EXISTS bounce, DROP COLUMN IF EXISTS classification`,
    );
  }
}
