import { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './data-source.factory';

/**
 * The tables every service has in its own schema: the transactional outbox (events written with the state change,
 * published by the relay), the inbox (event ids already handled, per consumer) and the relay's leader lease.
 */
export class PlatformTables1732400000000 implements MigrationInterface {
  name = 'PlatformTables1732400000000';

  async up(q: QueryRunner): Promise<void> {
    const s = `"${schemaOf(q.connection)}"`;
    await q.query(`
      CREATE TABLE ${s}.outbox (
        id bigserial PRIMARY KEY,
        event_id uuid NOT NULL,
        topic text NOT NULL,
        event_key text NOT NULL,
        envelope jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE ${s}.inbox (
        consumer text NOT NULL,
        event_id uuid NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
      )`);
    await q.query(`CREATE INDEX inbox_processed_at_idx ON ${s}.inbox (processed_at)`);
    await q.query(`
      CREATE TABLE ${s}.outbox_lease (
        name text PRIMARY KEY,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${schemaOf(q.connection)}"`;
    await q.query(`DROP TABLE ${s}.outbox_lease`);
    await q.query(`DROP TABLE ${s}.inbox`);
    await q.query(`DROP TABLE ${s}.outbox`);
  }
}
