import { MigrationInterface, QueryRunner } from 'typeorm';

/** Idempotency keys and uploads expire (IDEMPOTENCY_KEY_RETENTION_HOURS, UPLOAD_RETENTION_HOURS): find old rows fast. */
export class RetentionIndexes1732400400000 implements MigrationInterface {
  name = 'RetentionIndexes1732400400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX idempotency_keys_created_at_idx ON conversations.idempotency_keys (created_at)`,
    );
    await q.query(`CREATE INDEX uploads_created_at_idx ON conversations.uploads (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX conversations.uploads_created_at_idx`);
    await q.query(`DROP INDEX conversations.idempotency_keys_created_at_idx`);
  }
}
