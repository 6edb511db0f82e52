import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SYN-7: the mailbox state of a message (read / trashed / deleted), one last-writer-wins register per flag
 * (`{ value, at, origin }`), and a sync-event kind for a read/unread change the mailbox could not take.
 */
export class MessageMailboxState1732400770000 implements MigrationInterface {
  name = 'MessageMailboxState1732400770000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE conversations.messages ADD COLUMN mailbox_state jsonb`);
    await q.query(`ALTER TABLE conversations.sync_events DROP CONSTRAINT IF EXISTS sync_events_kind_check`);
    await q.query(`
      ALTER TABLE conversations.sync_events ADD CONSTRAINT sync_events_kind_check
        CHECK (kind IN ('message_skipped', 'send_failed', 'sync_gap', 'state_change_failed'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM conversations.sync_events WHERE kind = 'state_change_failed'`);
    await q.query(`ALTER TABLE conversations.sync_events DROP CONSTRAINT IF EXISTS sync_events_kind_check`);
    await q.query(`
      ALTER TABLE conversations.sync_events ADD CONSTRAINT sync_events_kind_check
        CHECK (kind IN ('message_skipped', 'send_failed', 'sync_gap'))`);
    await q.query(`ALTER TABLE conversations.messages DROP COLUMN mailbox_state`);
  }
}
