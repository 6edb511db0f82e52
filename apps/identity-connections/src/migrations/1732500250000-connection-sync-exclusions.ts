import { MigrationInterface, QueryRunner } from 'typeorm';

/** SYN-8: each connection's own exclusion list as the CRM set it (whole list per PUT, with a revision). */
export class ConnectionSyncExclusions1732500250000 implements MigrationInterface {
  name = 'ConnectionSyncExclusions1732500250000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE identity_connections.connection_sync_exclusions (
        connection_id uuid PRIMARY KEY,
        location_id text NOT NULL,
        user_id text NOT NULL,
        addresses jsonb NOT NULL,
        domains jsonb NOT NULL,
        revision int NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE identity_connections.connection_sync_exclusions`);
  }
}
