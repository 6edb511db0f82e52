import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SYN-4: a reply from the CRM moves its thread when it is routed; the bindings it ended elsewhere are kept on the send,
 * so a failed send can give them back.
 */
export class SendEndedBindings1732400700000 implements MigrationInterface {
  name = 'SendEndedBindings1732400700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE sync_engine.crm_send ADD COLUMN ended_binding_ids uuid[] NOT NULL DEFAULT '{}'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sync_engine.crm_send DROP COLUMN ended_binding_ids`);
  }
}
