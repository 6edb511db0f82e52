import { MigrationInterface, QueryRunner } from 'typeorm';

/** SYN-10: the latest completeness audit of each connection's mailbox (from mail-gateway's `mailbox.audited`). */
export class ConnectionAudit1732500100000 implements MigrationInterface {
  name = 'ConnectionAudit1732500100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE identity_connections.connections
        ADD COLUMN last_audit_at timestamptz,
        ADD COLUMN audit_report jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE identity_connections.connections DROP COLUMN last_audit_at, DROP COLUMN audit_report`);
  }
}
