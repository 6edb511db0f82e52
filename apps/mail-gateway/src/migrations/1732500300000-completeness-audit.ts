import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SYN-10, proof of completeness: the ledger of outcomes (one row per provider message of a mailbox: ids and codes,
 * subject to retention like observed ids) and the latest audit report per mailbox.
 */
export class CompletenessAudit1732500300000 implements MigrationInterface {
  name = 'CompletenessAudit1732500300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mail_gateway.message_ledger (
        mailbox_id uuid NOT NULL REFERENCES mail_gateway.mailboxes (id) ON DELETE CASCADE,
        provider_message_id text NOT NULL,
        outcome text,
        rule text,
        reason text,
        conversations int NOT NULL DEFAULT 0,
        redriven_at timestamptz,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (mailbox_id, provider_message_id),
        CHECK (outcome IN ('synced', 'not_synced', 'skipped', 'quarantined'))
      )`);
    await q.query(`CREATE INDEX message_ledger_recorded_at_idx ON mail_gateway.message_ledger (recorded_at)`);
    await q.query(`
      CREATE TABLE mail_gateway.mailbox_audits (
        mailbox_id uuid PRIMARY KEY REFERENCES mail_gateway.mailboxes (id) ON DELETE CASCADE,
        started_at timestamptz NOT NULL DEFAULT now(),
        checked_at timestamptz,
        report jsonb,
        announced_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mail_gateway.mailbox_audits`);
    await q.query(`DROP TABLE mail_gateway.message_ledger`);
  }
}
