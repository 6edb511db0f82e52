import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * CON-7: a connection's predictable end (refresh-token lifetime) and the warning last told about it; sign-ins a
 * Microsoft tenant blocked until its administrator consents.
 */
export class ConnectionWarnings1732500200000 implements MigrationInterface {
  name = 'ConnectionWarnings1732500200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE identity_connections.connections
        ADD COLUMN refresh_expires_at timestamptz,
        ADD COLUMN warning jsonb,
        ADD COLUMN renewal_failures integer,
        ADD COLUMN watch_expires_at timestamptz`);
    await q.query(`
      CREATE TABLE identity_connections.admin_consent_requests (
        location_id text NOT NULL,
        user_id text NOT NULL,
        provider text NOT NULL,
        admin_consent_url text NOT NULL,
        provider_error text NOT NULL,
        requested_at timestamptz NOT NULL,
        PRIMARY KEY (location_id, user_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE identity_connections.admin_consent_requests`);
    await q.query(`
      ALTER TABLE identity_connections.connections
        DROP COLUMN refresh_expires_at, DROP COLUMN warning, DROP COLUMN renewal_failures, DROP COLUMN watch_expires_at`);
  }
}
