import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

export interface LocationSyncExclusions {
  readonly addresses: string[];
  readonly domains: string[];
  readonly betweenLocationUsers: boolean;
  readonly revision: number;
  readonly updatedAt: Date | null;
}

type Row = {
  addresses: string[];
  domains: string[];
  between_location_users: boolean;
  revision: number;
  updated_at: Date;
};

const toList = (r: Row | undefined): LocationSyncExclusions =>
  r
    ? {
        addresses: r.addresses,
        domains: r.domains,
        betweenLocationUsers: r.between_location_users,
        revision: r.revision,
        updatedAt: r.updated_at,
      }
    : { addresses: [], domains: [], betweenLocationUsers: false, revision: 0, updatedAt: null };

/** SYN-8: a location's exclusion list (one row per location; none means empty). */
@Injectable()
export class LocationSyncExclusionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(locationId: string): Promise<LocationSyncExclusions> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT addresses, domains, between_location_users, revision, updated_at
       FROM conversations.location_sync_exclusions WHERE location_id = $1`,
      [locationId],
    );
    return toList(rows[0]);
  }

  async lock(tx: EntityManager, locationId: string): Promise<LocationSyncExclusions> {
    const rows: Row[] = await tx.query(
      `SELECT addresses, domains, between_location_users, revision, updated_at
       FROM conversations.location_sync_exclusions WHERE location_id = $1 FOR UPDATE`,
      [locationId],
    );
    return toList(rows[0]);
  }

  async save(tx: EntityManager, locationId: string, list: LocationSyncExclusions): Promise<void> {
    await tx.query(
      `INSERT INTO conversations.location_sync_exclusions
         (location_id, addresses, domains, between_location_users, revision, updated_at)
       VALUES ($1, $2::jsonb, $3::jsonb, $4, $5, $6)
       ON CONFLICT (location_id) DO UPDATE SET addresses = EXCLUDED.addresses, domains = EXCLUDED.domains,
         between_location_users = EXCLUDED.between_location_users, revision = EXCLUDED.revision,
         updated_at = EXCLUDED.updated_at`,
      [
        locationId,
        JSON.stringify(list.addresses),
        JSON.stringify(list.domains),
        list.betweenLocationUsers,
        list.revision,
        list.updatedAt,
      ],
    );
  }
}
