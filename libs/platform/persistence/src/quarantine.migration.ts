import { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from './data-source.factory';

/**
 * Every service's quarantine: events a consumer gave up on after its last attempt (SYN-10), kept with the envelope so
 * an operator can list and retry them. One row per (consumer group, event): a redelivery never quarantines twice.
 */
export class PlatformQuarantine1732650000000 implements MigrationInterface {
  name = 'PlatformQuarantine1732650000000';

  async up(q: QueryRunner): Promise<void> {
    const s = `"${schemaOf(q.connection)}"`;
    await q.query(`
      CREATE TABLE ${s}.quarantine (
        id uuid PRIMARY KEY,
        consumer_group text NOT NULL,
        stage text NOT NULL,
        topic text NOT NULL,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        event_version integer NOT NULL,
        event_key text NOT NULL,
        location_id text,
        envelope jsonb NOT NULL,
        error_code text NOT NULL,
        error_class text NOT NULL,
        error_message text NOT NULL,
        attempts integer NOT NULL,
        status text NOT NULL DEFAULT 'quarantined' CHECK (status IN ('quarantined', 'resolved')),
        first_failed_at timestamptz NOT NULL DEFAULT now(),
        last_failed_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz,
        UNIQUE (consumer_group, event_id)
      )`);
    await q.query(`CREATE INDEX quarantine_status_idx ON ${s}.quarantine (status, first_failed_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = `"${schemaOf(q.connection)}"`;
    await q.query(`DROP TABLE ${s}.quarantine`);
  }
}
