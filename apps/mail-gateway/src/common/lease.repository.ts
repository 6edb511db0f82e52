import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { REPLICA_ID } from './tokens';
import { queryPreparedRows, queryRows } from '@mailbridge/platform-persistence';

/**
 * Expiring named locks in the database, so two replicas never work on one mailbox at once (ordering of pulls,
 * subscription renewals). Each call is one statement: no transaction is held while the owner works.
 */
@Injectable()
export class LeaseRepository {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(REPLICA_ID) private readonly owner: string,
  ) {}

  /** Takes the lease if it is free, expired, or already ours (then extends it). Prepared: an upsert, no scan. */
  async acquire(name: string, ttlSeconds: number): Promise<boolean> {
    const rows = await queryPreparedRows(
      this.dataSource,
      `INSERT INTO mail_gateway.leases (name, owner, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3))
       ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
       WHERE leases.expires_at < now() OR leases.owner = EXCLUDED.owner
       RETURNING name`,
      [name, this.owner, ttlSeconds],
    );
    return rows.length === 1;
  }

  /** Extends a lease we hold; false when it was lost (expired and taken by another replica). */
  async extend(name: string, ttlSeconds: number): Promise<boolean> {
    const rows = await queryRows(
      this.dataSource,
      `UPDATE mail_gateway.leases SET expires_at = now() + make_interval(secs => $3)
       WHERE name = $1 AND owner = $2 RETURNING name`,
      [name, this.owner, ttlSeconds],
    );
    return rows.length === 1;
  }

  async release(name: string): Promise<void> {
    await queryRows(this.dataSource, `DELETE FROM mail_gateway.leases WHERE name = $1 AND owner = $2`, [
      name,
      this.owner,
    ]);
  }
}
