import { MigrationInterface, QueryRunner } from 'typeorm';

/** Connections, thread bindings and their keys, CRM sends, per-message decisions, parked messages, smart-BCC addresses. */
export class SyncState1732400300000 implements MigrationInterface {
  name = 'SyncState1732400300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sync_engine.connection_projection (
        connection_id uuid PRIMARY KEY,
        location_id text NOT NULL,
        user_id text NOT NULL,
        provider text,
        email_normalized text,
        mailbox_key text,
        sync_scope text,
        status text NOT NULL,
        connected_at timestamptz,
        ended_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX connection_projection_mailbox_idx ON sync_engine.connection_projection (mailbox_key)`,
    );
    await q.query(
      `CREATE INDEX connection_projection_user_idx ON sync_engine.connection_projection (user_id, location_id)`,
    );

    await q.query(`
      CREATE TABLE sync_engine.thread_binding (
        binding_id uuid PRIMARY KEY,
        mailbox_key text NOT NULL,
        location_id text NOT NULL,
        connection_id uuid NOT NULL,
        user_id text NOT NULL,
        contact_id text NOT NULL,
        conversation_id uuid NOT NULL,
        origin_rule text NOT NULL,
        status text NOT NULL,
        end_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX thread_binding_connection_idx ON sync_engine.thread_binding (connection_id) WHERE status = 'active'`,
    );
    await q.query(
      `CREATE INDEX thread_binding_conversation_idx ON sync_engine.thread_binding (location_id, conversation_id)`,
    );
    await q.query(`
      CREATE TABLE sync_engine.thread_key (
        mailbox_key text NOT NULL,
        key text NOT NULL,
        binding_id uuid NOT NULL REFERENCES sync_engine.thread_binding (binding_id) ON DELETE CASCADE,
        provider_message_id text,
        PRIMARY KEY (mailbox_key, key, binding_id)
      )`);
    await q.query(`CREATE INDEX thread_key_binding_idx ON sync_engine.thread_key (binding_id)`);

    await q.query(`
      CREATE TABLE sync_engine.crm_send (
        send_id uuid PRIMARY KEY,
        location_id text NOT NULL,
        user_id text NOT NULL,
        contact_id text NOT NULL,
        conversation_id uuid NOT NULL,
        kind text NOT NULL,
        status text NOT NULL,
        rule text NOT NULL,
        route jsonb,
        connection_id uuid,
        mailbox_key text,
        rfc_message_id text,
        binding_id uuid,
        created_binding boolean NOT NULL DEFAULT false,
        reply_keys text[] NOT NULL DEFAULT '{}',
        refusal_code text,
        refusal_message text,
        provider_message_id text,
        provider_thread_id text,
        trace jsonb NOT NULL DEFAULT '[]',
        requested_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX crm_send_rfc_idx ON sync_engine.crm_send (rfc_message_id)`);

    await q.query(`
      CREATE TABLE sync_engine.message_decision (
        mailbox_key text NOT NULL,
        provider_message_id text NOT NULL,
        rfc_message_id text,
        event_id uuid NOT NULL,
        source text NOT NULL,
        direction text NOT NULL,
        outcome text NOT NULL,
        rules text[] NOT NULL,
        deliveries jsonb NOT NULL,
        skips jsonb NOT NULL,
        trace jsonb NOT NULL,
        repeats int NOT NULL DEFAULT 0,
        decided_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mailbox_key, provider_message_id)
      )`);
    await q.query(`CREATE INDEX message_decision_rfc_idx ON sync_engine.message_decision (rfc_message_id)`);
    await q.query(
      `CREATE INDEX message_decision_provider_id_idx ON sync_engine.message_decision (provider_message_id)`,
    );

    await q.query(`
      CREATE TABLE sync_engine.parked_message (
        mailbox_key text NOT NULL,
        provider_message_id text NOT NULL,
        keys text[] NOT NULL,
        event_id uuid NOT NULL,
        observed jsonb NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mailbox_key, provider_message_id)
      )`);
    await q.query(`CREATE INDEX parked_message_keys_idx ON sync_engine.parked_message USING gin (keys)`);
    await q.query(
      `CREATE INDEX parked_message_age_idx ON sync_engine.parked_message (mailbox_key, parked_at)`,
    );

    await q.query(`
      CREATE TABLE sync_engine.smart_bcc_address (
        address text PRIMARY KEY,
        location_id text NOT NULL,
        user_id text NOT NULL,
        learned_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'smart_bcc_address',
      'parked_message',
      'message_decision',
      'crm_send',
      'thread_key',
      'thread_binding',
      'connection_projection',
    ]) {
      await q.query(`DROP TABLE sync_engine.${table}`);
    }
  }
}
