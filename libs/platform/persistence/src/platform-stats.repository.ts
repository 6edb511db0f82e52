import type { DataSource } from 'typeorm';
import { schemaOf } from './data-source.factory';

/** What an operator watches of a service's own platform tables (read on every `/metrics` scrape). */
export interface PlatformStats {
  /** Outbox rows not yet published. */
  readonly outboxDepth: number;
  /** Age of the oldest of them (0 when the outbox is empty). */
  readonly outboxOldestAgeSeconds: number;
  /** Quarantine items by status (`quarantined`, `resolved`). */
  readonly quarantine: Readonly<Record<'quarantined' | 'resolved', number>>;
}

export class PlatformStatsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * One round trip. The outbox holds only unpublished rows (the relay deletes what it published), so it is small; the
   * quarantine count uses its (status, ...) index.
   */
  async read(): Promise<PlatformStats> {
    const s = `"${schemaOf(this.dataSource)}"`;
    const [row] = (await this.dataSource.query(
      `SELECT
         (SELECT count(*) FROM ${s}.outbox)::int AS depth,
         (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) FROM ${s}.outbox)::float8 AS age,
         (SELECT count(*) FROM ${s}.quarantine WHERE status = 'quarantined')::int AS quarantined,
         (SELECT count(*) FROM ${s}.quarantine WHERE status = 'resolved')::int AS resolved`,
    )) as Array<{ depth: number; age: number; quarantined: number; resolved: number }>;
    return {
      outboxDepth: row.depth,
      outboxOldestAgeSeconds: Math.max(0, row.age),
      quarantine: { quarantined: row.quarantined, resolved: row.resolved },
    };
  }
}
