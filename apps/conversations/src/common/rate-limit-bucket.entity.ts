import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A token bucket of the CRM rate limit, shared by every replica (the row lock orders concurrent requests). An idle
 * bucket refills within a minute, so rows untouched for an hour are pruned: a missing row is a full bucket.
 */
@Entity({ schema: 'conversations', name: 'rate_limit_buckets' })
export class RateLimitBucketEntity {
  /** `["<locationId>","<token subject>"]` (JSON: unambiguous, and PostgreSQL text cannot hold NUL). */
  @PrimaryColumn({ name: 'bucket_key', type: 'text' })
  bucketKey!: string;

  @Column({ type: 'double precision' })
  tokens!: number;

  /** Whether the last request took a token (read back by the same statement). */
  @Column({ type: 'boolean' })
  allowed!: boolean;

  @Column({ name: 'refreshed_at', type: 'timestamptz' })
  refreshedAt!: Date;
}
