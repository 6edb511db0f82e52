import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Loss path 5 (issue 14): a Message-ID is not unique per conversation. Broken mailers reuse one id and re-sent mail
 * keeps the original, so two different emails can carry it; the unique index made the second one vanish. Identity is
 * the delivery id and the provider's id (both still unique); the Message-ID stays indexed for SYN-5/SYN-6 lookups.
 */
export class MessageIdNotUnique1732400600000 implements MigrationInterface {
  name = 'MessageIdNotUnique1732400600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX IF NOT EXISTS messages_rfc_id_idx
        ON conversations.messages (location_id, conversation_id, rfc_message_id)
        WHERE rfc_message_id IS NOT NULL`);
    await q.query(`DROP INDEX IF EXISTS conversations.messages_rfc_id_uq`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Only restorable while no conversation holds two messages with one Message-ID.
    await q.query(`
      CREATE UNIQUE INDEX messages_rfc_id_uq ON conversations.messages (location_id, conversation_id, rfc_message_id)
        WHERE rfc_message_id IS NOT NULL`);
    await q.query(`DROP INDEX IF EXISTS conversations.messages_rfc_id_idx`);
  }
}
