import { MigrationInterface, QueryRunner } from 'typeorm';

export class ContactProjection1732400200000 implements MigrationInterface {
  name = 'ContactProjection1732400200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sync_engine.contact_projection (
        location_id text NOT NULL,
        contact_id text NOT NULL,
        email_normalized text NOT NULL,
        assigned_user_id text,
        created_at timestamptz NOT NULL,
        deleted boolean NOT NULL DEFAULT false,
        revision int NOT NULL,
        PRIMARY KEY (location_id, contact_id)
      )`);
    await q.query(
      `CREATE INDEX contact_projection_match_idx ON sync_engine.contact_projection (location_id, email_normalized)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sync_engine.contact_projection`);
  }
}
