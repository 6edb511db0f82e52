import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Conversations, messages and their attachments, sends' idempotency records, uploads, sync events, and the
 * projection of connections this service keeps from identity-connections' events.
 */
export class ConversationsMessages1732400200000 implements MigrationInterface {
  name = 'ConversationsMessages1732400200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conversations.conversations (
        location_id text NOT NULL,
        conversation_id uuid NOT NULL,
        contact_id text NOT NULL,
        created_at timestamptz NOT NULL,
        last_message_at timestamptz NOT NULL,
        last_subject text,
        message_count int NOT NULL DEFAULT 0,
        PRIMARY KEY (location_id, conversation_id),
        UNIQUE (location_id, contact_id)
      )`);
    await q.query(`
      CREATE INDEX conversations_activity_idx
        ON conversations.conversations (location_id, last_message_at DESC, conversation_id DESC)`);

    await q.query(`
      CREATE TABLE conversations.messages (
        location_id text NOT NULL,
        message_id uuid NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        conversation_id uuid NOT NULL,
        contact_id text NOT NULL,
        user_id text,
        connection_id uuid,
        mailbox_key text,
        kind text,
        direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
        source text NOT NULL CHECK (source IN ('crm', 'mailbox', 'smart_bcc')),
        status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'received')),
        from_address jsonb,
        to_addresses jsonb NOT NULL,
        cc_addresses jsonb NOT NULL,
        bcc_addresses jsonb NOT NULL,
        subject text NOT NULL,
        text_body text,
        html_body text,
        body_truncated boolean NOT NULL DEFAULT false,
        sort_at timestamptz NOT NULL,
        sent_at timestamptz,
        received_at timestamptz,
        provider text,
        provider_message_id text,
        provider_thread_id text,
        rfc_message_id text,
        in_reply_to text,
        "references" jsonb NOT NULL DEFAULT '[]',
        delivery_id uuid,
        rule text,
        idempotency_key text,
        failure_code text,
        failure_message text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (location_id, message_id)
      )`);
    // SYN-6: a conversation's messages in send order, then arrival; also the keyset of its pagination.
    await q.query(`
      CREATE INDEX messages_conversation_order_idx
        ON conversations.messages (location_id, conversation_id, sort_at, seq)`);
    // SYN-5: however a message arrives, it is recorded once per conversation.
    await q.query(`
      CREATE UNIQUE INDEX messages_delivery_uq ON conversations.messages (location_id, conversation_id, delivery_id)
        WHERE delivery_id IS NOT NULL`);
    await q.query(`
      CREATE UNIQUE INDEX messages_provider_id_uq
        ON conversations.messages (location_id, conversation_id, provider, provider_message_id)
        WHERE provider_message_id IS NOT NULL`);
    await q.query(`
      CREATE UNIQUE INDEX messages_rfc_id_uq ON conversations.messages (location_id, conversation_id, rfc_message_id)
        WHERE rfc_message_id IS NOT NULL`);
    // SND-4 pre-check: individual CRM sends through one mailbox in the last 24 hours.
    await q.query(`
      CREATE INDEX messages_mailbox_sends_idx ON conversations.messages (mailbox_key, created_at)
        WHERE mailbox_key IS NOT NULL`);

    await q.query(`
      CREATE TABLE conversations.attachments (
        location_id text NOT NULL,
        attachment_id uuid NOT NULL,
        message_id uuid NOT NULL,
        position int NOT NULL,
        filename text NOT NULL,
        content_type text NOT NULL,
        detected_kind text,
        size bigint NOT NULL,
        object_key text,
        sha256 text,
        content_id text,
        inline boolean NOT NULL DEFAULT false,
        omitted_reason text,
        PRIMARY KEY (location_id, attachment_id),
        FOREIGN KEY (location_id, message_id) REFERENCES conversations.messages (location_id, message_id)
      )`);
    await q.query(
      `CREATE INDEX attachments_message_idx ON conversations.attachments (location_id, message_id, position)`,
    );

    await q.query(`
      CREATE TABLE conversations.idempotency_keys (
        location_id text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        message_id uuid NOT NULL,
        response jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (location_id, idempotency_key)
      )`);

    await q.query(`
      CREATE TABLE conversations.uploads (
        location_id text NOT NULL,
        upload_id uuid NOT NULL,
        user_id text NOT NULL,
        filename text NOT NULL,
        declared_content_type text,
        content_type text NOT NULL,
        detected_kind text NOT NULL,
        size bigint NOT NULL,
        object_key text NOT NULL,
        sha256 text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (location_id, upload_id)
      )`);

    await q.query(`
      CREATE TABLE conversations.sync_events (
        location_id text NOT NULL,
        sync_event_id uuid NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        kind text NOT NULL CHECK (kind IN ('message_skipped', 'send_failed', 'sync_gap')),
        reason text NOT NULL,
        rule text,
        detail text NOT NULL,
        contact_id text,
        user_id text,
        connection_id uuid,
        mailbox_key text,
        message_id uuid,
        provider_message_id text,
        rfc_message_id text,
        subject text,
        from_address jsonb,
        range_from timestamptz,
        range_to timestamptz,
        occurred_at timestamptz NOT NULL,
        source_event_id uuid NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (location_id, sync_event_id)
      )`);
    await q.query(
      `CREATE INDEX sync_events_order_idx ON conversations.sync_events (location_id, occurred_at DESC, seq DESC)`,
    );

    await q.query(`
      CREATE TABLE conversations.connections (
        connection_id uuid PRIMARY KEY,
        location_id text NOT NULL,
        user_id text NOT NULL,
        provider text NOT NULL,
        email_address text NOT NULL,
        mailbox_key text NOT NULL,
        status text NOT NULL,
        connected_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE INDEX connections_location_user_idx ON conversations.connections (location_id, user_id, status)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'connections',
      'sync_events',
      'uploads',
      'idempotency_keys',
      'attachments',
      'messages',
      'conversations',
    ]) {
      await q.query(`DROP TABLE conversations.${table}`);
    }
  }
}
