import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CONVERSATIONS_CONFIG } from './tokens';
import type { ConversationsConfig } from '../conversations.config';

export type RateLimitVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * The CRM rate limit as one token bucket per key in PostgreSQL, so every replica draws from the same budget:
 * RATE_LIMIT_PER_MINUTE tokens, refilled continuously. One statement per request refills, takes a token if there
 * is one, and reads the outcome back; the database clock is the only clock.
 */
@Injectable()
export class RateLimitRepository {
  private readonly perMinute: number;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(CONVERSATIONS_CONFIG) config: ConversationsConfig,
  ) {
    this.perMinute = config.RATE_LIMIT_PER_MINUTE;
  }

  async take(key: string): Promise<RateLimitVerdict> {
    if (this.perMinute <= 0) return { allowed: true };
    const perSecond = this.perMinute / 60;
    // A request that waited on the row lock may start before the last refresh: elapsed time never goes negative.
    const refilled = `LEAST($2::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM now() - b.refreshed_at)) * $3::float8)`;
    const rows: Array<{ tokens: number; allowed: boolean }> = await this.dataSource.query(
      `INSERT INTO conversations.rate_limit_buckets AS b (bucket_key, tokens, allowed, refreshed_at)
       VALUES ($1, $2::float8 - 1, true, now())
       ON CONFLICT (bucket_key) DO UPDATE SET
         tokens = ${refilled} - CASE WHEN ${refilled} >= 1 THEN 1 ELSE 0 END,
         allowed = ${refilled} >= 1,
         refreshed_at = GREATEST(b.refreshed_at, now())
       RETURNING tokens, allowed`,
      [key, this.perMinute, perSecond],
    );
    const { tokens, allowed } = rows[0];
    if (allowed) return { allowed: true };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / perSecond)) };
  }
}
