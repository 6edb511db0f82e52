import { MigrationInterface, QueryRunner } from 'typeorm';

/** Mailboxes and their connections, Graph folder cursors and subscriptions, observed ids, the send log, leases. */
export class MailboxesAndSends1732500000000 implements MigrationInterface {
  name = 'MailboxesAndSends1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mail_gateway.mailboxes (
        id uuid PRIMARY KEY,
        mailbox_key text NOT NULL UNIQUE,
        provider text NOT NULL CHECK (provider IN ('google', 'microsoft')),
        email_address text NOT NULL,
        desired text NOT NULL CHECK (desired IN ('active', 'paused', 'stopped')),
        stage text NOT NULL,
        history_id text,
        cursor_synced_at timestamptz,
        baseline_at timestamptz,
        recovery jsonb,
        watch_expires_at timestamptz,
        watch_renew_at timestamptz,
        pull_requested_at timestamptz,
        backoff_until timestamptz,
        failures int NOT NULL DEFAULT 0,
        last_notification_at timestamptz,
        last_pull_at timestamptz,
        last_synced_at timestamptz,
        last_error_code text,
        last_error_message text,
        last_error_at timestamptz,
        health_signature text,
        health_published_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX mailboxes_stage_idx ON mail_gateway.mailboxes (desired, stage)`);
    await q.query(`
      CREATE TABLE mail_gateway.mailbox_connections (
        connection_id uuid PRIMARY KEY,
        mailbox_id uuid NOT NULL REFERENCES mail_gateway.mailboxes (id),
        location_id text NOT NULL,
        user_id text NOT NULL,
        status text NOT NULL,
        changed_at timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE INDEX mailbox_connections_mailbox_idx ON mail_gateway.mailbox_connections (mailbox_id)`,
    );
    await q.query(`
      CREATE TABLE mail_gateway.graph_folders (
        mailbox_id uuid NOT NULL REFERENCES mail_gateway.mailboxes (id),
        folder text NOT NULL,
        link text,
        import_after timestamptz,
        round_started_at timestamptz,
        synced_at timestamptz,
        subscription_id text UNIQUE,
        client_state_digest text,
        subscription_expires_at timestamptz,
        subscription_action text,
        PRIMARY KEY (mailbox_id, folder)
      )`);
    await q.query(`
      CREATE TABLE mail_gateway.observed_messages (
        mailbox_id uuid NOT NULL,
        provider_message_id text NOT NULL,
        observed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mailbox_id, provider_message_id)
      )`);
    await q.query(`
      CREATE TABLE mail_gateway.send_log (
        send_id uuid PRIMARY KEY,
        location_id text NOT NULL,
        route text NOT NULL CHECK (route IN ('mailbox', 'location_provider')),
        mailbox_key text,
        connection_id uuid,
        kind text NOT NULL,
        state text NOT NULL CHECK (state IN ('sending', 'not_sent', 'sent', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        rfc_message_id text NOT NULL,
        provider_message_id text,
        provider_thread_id text,
        provider_draft_id text,
        provider_rfc_message_id text,
        error_code text,
        error_message text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX send_log_cap_idx ON mail_gateway.send_log (mailbox_key, created_at) WHERE route = 'mailbox'`,
    );
    await q.query(`
      CREATE TABLE mail_gateway.leases (
        name text PRIMARY KEY,
        owner text NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'leases',
      'send_log',
      'observed_messages',
      'graph_folders',
      'mailbox_connections',
      'mailboxes',
    ]) {
      await q.query(`DROP TABLE mail_gateway.${table}`);
    }
  }
}
