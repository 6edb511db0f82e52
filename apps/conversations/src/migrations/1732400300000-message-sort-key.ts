import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SYN-6: a conversation's messages are listed by (sort_second, sort_received_at, seq). `sort_at` alone mixed
 * resolutions (a CRM send at its request time in ms, synced mail at its Date header in whole seconds) and broke
 * same-second ties by arrival instead of by when the provider received the message.
 */
export class MessageSortKey1732400300000 implements MigrationInterface {
  name = 'MessageSortKey1732400300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE conversations.messages
        ADD COLUMN sort_second timestamptz,
        ADD COLUMN sort_received_at timestamptz`);
    // The same key the application computes (message-order.ts, without the thread adjustment). Epoch arithmetic
    // rather than date_trunc, which truncates in the session's time zone.
    await q.query(`
      UPDATE conversations.messages SET
        sort_second = to_timestamp(floor(extract(epoch FROM COALESCE(sent_at, sort_at)))),
        sort_received_at = COALESCE(received_at, sent_at, sort_at)`);
    // Expand, not contract (docs/deploy.md): the previous version keeps inserting rows during a rolling upgrade without
    // knowing these columns, so a trigger fills them the same way for its inserts (new code writes them itself, with
    // the thread adjustment). A send outcome the previous version records keeps the request-time key until the
    // message is next re-dated. Drop the trigger, and the old index below, once no release older than this one runs.
    await q.query(`
      CREATE FUNCTION conversations.messages_fill_sort_key() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.sort_second := COALESCE(NEW.sort_second,
          to_timestamp(floor(extract(epoch FROM COALESCE(NEW.sent_at, NEW.sort_at)))));
        NEW.sort_received_at := COALESCE(NEW.sort_received_at, NEW.received_at, NEW.sent_at, NEW.sort_at);
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER messages_fill_sort_key BEFORE INSERT ON conversations.messages
        FOR EACH ROW EXECUTE FUNCTION conversations.messages_fill_sort_key()`);
    await q.query(`
      ALTER TABLE conversations.messages
        ALTER COLUMN sort_second SET NOT NULL,
        ALTER COLUMN sort_received_at SET NOT NULL`);
    // The listing order and the keyset of its pagination. The previous version's index stays while it may run.
    await q.query(`
      CREATE INDEX messages_conversation_sort_idx
        ON conversations.messages (location_id, conversation_id, sort_second, sort_received_at, seq)`);
    // Message-IDs are compared exactly (SYN-5; the thread order below): stored without surrounding whitespace, as
    // new rows are (message-id.ts). A Message-ID whose trimmed form another row of its conversation has stays as it is.
    await q.query(`
      UPDATE conversations.messages SET in_reply_to = NULLIF(btrim(in_reply_to, E' \\t\\r\\n'), '')
      WHERE in_reply_to <> btrim(in_reply_to, E' \\t\\r\\n')`);
    await q.query(`
      UPDATE conversations.messages m SET rfc_message_id = btrim(m.rfc_message_id, E' \\t\\r\\n')
      WHERE m.rfc_message_id <> btrim(m.rfc_message_id, E' \\t\\r\\n')
        AND btrim(m.rfc_message_id, E' \\t\\r\\n') <> ''
        AND NOT EXISTS (
          SELECT 1 FROM conversations.messages o
          WHERE o.location_id = m.location_id AND o.conversation_id = m.conversation_id
            AND o.message_id <> m.message_id
            AND btrim(o.rfc_message_id, E' \\t\\r\\n') = btrim(m.rfc_message_id, E' \\t\\r\\n'))`);
    // A message's replies in its conversation (In-Reply-To), so a message is never placed after them.
    await q.query(`
      CREATE INDEX messages_in_reply_to_idx ON conversations.messages (location_id, conversation_id, in_reply_to)
        WHERE in_reply_to IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX conversations.messages_in_reply_to_idx`);
    await q.query(`DROP INDEX conversations.messages_conversation_sort_idx`);
    await q.query(`DROP TRIGGER messages_fill_sort_key ON conversations.messages`);
    await q.query(`DROP FUNCTION conversations.messages_fill_sort_key()`);
    await q.query(`
      ALTER TABLE conversations.messages DROP COLUMN sort_received_at, DROP COLUMN sort_second`);
  }
}
