import { MigrationInterface, QueryRunner } from 'typeorm';

export class Contacts1732400100000 implements MigrationInterface {
  name = 'Contacts1732400100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conversations.contacts (
        location_id text NOT NULL,
        contact_id text NOT NULL,
        email text NOT NULL,
        email_normalized text NOT NULL,
        name text,
        assigned_user_id text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        deleted_at timestamptz,
        revision int NOT NULL,
        PRIMARY KEY (location_id, contact_id)
      )`);
    await q.query(
      `CREATE INDEX contacts_location_email_idx ON conversations.contacts (location_id, email_normalized)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE conversations.contacts`);
  }
}
