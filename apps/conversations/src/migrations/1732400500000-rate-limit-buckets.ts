import { MigrationInterface, QueryRunner } from 'typeorm';

/** The CRM rate limit's token buckets, shared by every replica (RateLimitRepository). */
export class RateLimitBuckets1732400500000 implements MigrationInterface {
  name = 'RateLimitBuckets1732400500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conversations.rate_limit_buckets (
        bucket_key text PRIMARY KEY,
        tokens double precision NOT NULL,
        allowed boolean NOT NULL,
        refreshed_at timestamptz NOT NULL
      )`);
    await q.query(
      `CREATE INDEX rate_limit_buckets_refreshed_at_idx ON conversations.rate_limit_buckets (refreshed_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE conversations.rate_limit_buckets`);
  }
}
