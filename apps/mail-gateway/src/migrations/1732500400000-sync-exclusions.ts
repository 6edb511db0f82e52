import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SYN-8: the latest exclusion list of each location (`location:<id>`) and connection (`connection:<id>`), projected
 * from `sync-exclusions.changed`. The CRM's own settings, no mail content.
 */
export class SyncExclusions1732500400000 implements MigrationInterface {
  name = 'SyncExclusions1732500400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mail_gateway.sync_exclusions (
        scope_key text PRIMARY KEY,
        location_id text NOT NULL,
        connection_id uuid,
        addresses jsonb NOT NULL,
        domains jsonb NOT NULL,
        between_users boolean NOT NULL DEFAULT false,
        revision int NOT NULL,
        changed_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mail_gateway.sync_exclusions`);
  }
}
