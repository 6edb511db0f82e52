import { MigrationInterface, QueryRunner } from 'typeorm';

/** Connections, the token vault, OAuth state, pending provider revocations and smart-BCC addresses. */
export class Connections1732500000000 implements MigrationInterface {
  name = 'Connections1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE identity_connections.connections (
        connection_id uuid PRIMARY KEY,
        location_id text NOT NULL,
        user_id text NOT NULL,
        provider text NOT NULL CHECK (provider IN ('google', 'microsoft')),
        email_address text NOT NULL,
        mailbox_key text NOT NULL,
        provider_account_id text NOT NULL,
        granted_scopes text NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'reauth_required', 'disconnected', 'replaced')),
        sync_scope text NOT NULL CHECK (sync_scope IN ('crm_threads', 'contact_mail')),
        connected_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        ended_at timestamptz,
        replaced_by uuid,
        reauth_reason text,
        reauth_at timestamptz,
        sync_stage text,
        last_synced_at timestamptz,
        last_error jsonb,
        health_at timestamptz
      )`);
    // CON-2: at most one current (active or waiting for re-consent) connection per (location, user).
    await q.query(`
      CREATE UNIQUE INDEX connections_one_live_per_user_idx
        ON identity_connections.connections (location_id, user_id)
        WHERE status IN ('active', 'reauth_required')`);
    await q.query(
      `CREATE INDEX connections_user_idx ON identity_connections.connections (location_id, user_id, connected_at DESC)`,
    );
    await q.query(
      `CREATE INDEX connections_mailbox_idx ON identity_connections.connections (mailbox_key, status)`,
    );

    // The vault: one row per live connection; secret_enc is an AES-256-GCM envelope, key_id names its key.
    await q.query(`
      CREATE TABLE identity_connections.connection_tokens (
        connection_id uuid PRIMARY KEY REFERENCES identity_connections.connections (connection_id),
        key_id text NOT NULL,
        secret_enc text NOT NULL,
        access_expires_at timestamptz NOT NULL,
        refreshed_at timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE INDEX connection_tokens_key_idx ON identity_connections.connection_tokens (key_id)`,
    );

    // Tokens of ended connections, kept (encrypted) only until the provider confirmed the revocation.
    await q.query(`
      CREATE TABLE identity_connections.token_revocations (
        connection_id uuid PRIMARY KEY,
        provider text NOT NULL,
        mailbox_key text NOT NULL,
        key_id text NOT NULL,
        secret_enc text NOT NULL,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        last_error text,
        created_at timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE INDEX token_revocations_due_idx ON identity_connections.token_revocations (next_attempt_at)`,
    );

    // Started connect flows: single use (the row is deleted when the callback consumes it).
    await q.query(`
      CREATE TABLE identity_connections.oauth_states (
        state_id uuid PRIMARY KEY,
        provider text NOT NULL,
        location_id text NOT NULL,
        user_id text NOT NULL,
        return_url text NOT NULL,
        key_id text NOT NULL,
        code_verifier_enc text NOT NULL,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX oauth_states_expires_idx ON identity_connections.oauth_states (expires_at)`);

    await q.query(`
      CREATE TABLE identity_connections.smart_bcc_addresses (
        location_id text NOT NULL,
        user_id text NOT NULL,
        local_part text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (location_id, user_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE identity_connections.smart_bcc_addresses`);
    await q.query(`DROP TABLE identity_connections.oauth_states`);
    await q.query(`DROP TABLE identity_connections.token_revocations`);
    await q.query(`DROP TABLE identity_connections.connection_tokens`);
    await q.query(`DROP TABLE identity_connections.connections`);
  }
}
