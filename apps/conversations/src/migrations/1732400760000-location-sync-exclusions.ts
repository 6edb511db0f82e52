import { MigrationInterface, QueryRunner } from 'typeorm';

/** SYN-8: each location's exclusion list as the CRM set it (whole list per PUT, with a revision). */
export class LocationSyncExclusions1732400760000 implements MigrationInterface {
  name = 'LocationSyncExclusions1732400760000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conversations.location_sync_exclusions (
        location_id text PRIMARY KEY,
        addresses jsonb NOT NULL,
        domains jsonb NOT NULL,
        between_location_users boolean NOT NULL,
        revision int NOT NULL,
        updated_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE conversations.location_sync_exclusions`);
  }
}
