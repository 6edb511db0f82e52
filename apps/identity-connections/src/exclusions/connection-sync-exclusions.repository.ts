import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export interface ConnectionSyncExclusions {
  readonly addresses: string[];
  readonly domains: string[];
  readonly revision: number;
  readonly updatedAt: Date | null;
}

type Row = { addresses: string[]; domains: string[]; revision: number; updated_at: Date };

const toList = (r: Row | undefined): ConnectionSyncExclusions =>
  r
    ? { addresses: r.addresses, domains: r.domains, revision: r.revision, updatedAt: r.updated_at }
    : { addresses: [], domains: [], revision: 0, updatedAt: null };

/** SYN-8: a connection's own exclusion list (one row per connection; none means empty). */
@Injectable()
export class ConnectionSyncExclusionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(connectionId: string, tx?: EntityManager): Promise<ConnectionSyncExclusions> {
    const rows: Row[] = await (tx ?? this.dataSource).query(
      `SELECT addresses, domains, revision, updated_at FROM identity_connections.connection_sync_exclusions
       WHERE connection_id = $1${tx ? ' FOR UPDATE' : ''}`,
      [connectionId],
    );
    return toList(rows[0]);
  }

  async save(
    tx: EntityManager,
    owner: { connectionId: string; locationId: string; userId: string },
    list: ConnectionSyncExclusions,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO identity_connections.connection_sync_exclusions
         (connection_id, location_id, user_id, addresses, domains, revision, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7)
       ON CONFLICT (connection_id) DO UPDATE SET addresses = EXCLUDED.addresses, domains = EXCLUDED.domains,
         revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
      [
        owner.connectionId,
        owner.locationId,
        owner.userId,
        JSON.stringify(list.addresses),
        JSON.stringify(list.domains),
        list.revision,
        list.updatedAt,
      ],
    );
  }
}
