import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 16: the CRM sends of a conversation, for "which send does this reply answer" (crmSendsAnswered), asked for
 * every message recorded. Without it the look-up walked every message of the conversation: the longer a thread, the
 * slower each of its new messages. Partial: only the CRM's own sends are in it, the few a conversation has.
 */
export class CrmSendsByConversation1732400780000 implements MigrationInterface {
  name = 'CrmSendsByConversation1732400780000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX IF NOT EXISTS messages_crm_sends_idx
        ON conversations.messages (location_id, conversation_id, seq)
        WHERE source = 'crm'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS conversations.messages_crm_sends_idx`);
  }
}
