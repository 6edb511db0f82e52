import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { PayloadOf, syncExclusionsChangedV1 } from '@mailbridge/contracts';
import type { SyncExclusionList } from '@mailbridge/domain-mail';
import { queryRows } from '@mailbridge/platform-persistence';

/** What SYN-8 needs about one live connection of a mailbox. */
export interface ConnectionExclusions {
  readonly connectionId: string;
  readonly locationId: string;
  readonly location: SyncExclusionList | null;
  readonly connection: SyncExclusionList | null;
  /** The location's connected mailbox addresses (only read when the between-users switch is on). */
  readonly locationUserAddresses: readonly string[];
}

/** SYN-8: the projection of the CRM's exclusion lists and the lookup of a mailbox's lists. */
@Injectable()
export class SyncExclusionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Keeps the highest revision of each list (a redelivered or late older change never wins). */
  async apply(db: EntityManager, p: PayloadOf<typeof syncExclusionsChangedV1>): Promise<void> {
    const scopeKey = p.scope === 'location' ? `location:${p.locationId}` : `connection:${p.connectionId}`;
    await db.query(
      `INSERT INTO mail_gateway.sync_exclusions
         (scope_key, location_id, connection_id, addresses, domains, between_users, revision, changed_at)
       VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)
       ON CONFLICT (scope_key) DO UPDATE SET
         addresses = EXCLUDED.addresses, domains = EXCLUDED.domains, between_users = EXCLUDED.between_users,
         revision = EXCLUDED.revision, changed_at = EXCLUDED.changed_at
       WHERE sync_exclusions.revision < EXCLUDED.revision`,
      [
        scopeKey,
        p.locationId,
        p.connectionId,
        JSON.stringify(p.addresses),
        JSON.stringify(p.domains),
        p.scope === 'location' && p.betweenLocationUsers,
        p.revision,
        p.changedAt,
      ],
    );
  }

  /** The lists of every live connection (active or paused for re-auth) of the mailbox, one query. */
  async forMailbox(mailboxKey: string): Promise<ConnectionExclusions[]> {
    type Row = {
      connection_id: string;
      location_id: string;
      loc_addresses: string[] | null;
      loc_domains: string[] | null;
      between_users: boolean | null;
      conn_addresses: string[] | null;
      conn_domains: string[] | null;
      users: string[] | null;
    };
    const rows = await queryRows<Row>(
      this.dataSource,
      `SELECT c.connection_id, c.location_id,
              le.addresses AS loc_addresses, le.domains AS loc_domains, le.between_users,
              ce.addresses AS conn_addresses, ce.domains AS conn_domains,
              CASE WHEN le.between_users THEN (
                SELECT json_agg(DISTINCT m2.email_address)
                FROM mail_gateway.mailbox_connections c2
                JOIN mail_gateway.mailboxes m2 ON m2.id = c2.mailbox_id
                WHERE c2.location_id = c.location_id AND c2.status IN ('active', 'reauth_required')
              ) END AS users
       FROM mail_gateway.mailboxes m
       JOIN mail_gateway.mailbox_connections c ON c.mailbox_id = m.id
       LEFT JOIN mail_gateway.sync_exclusions le ON le.scope_key = 'location:' || c.location_id
       LEFT JOIN mail_gateway.sync_exclusions ce ON ce.scope_key = 'connection:' || c.connection_id::text
       WHERE m.mailbox_key = $1 AND c.status IN ('active', 'reauth_required')`,
      [mailboxKey],
    );
    return rows.map((r) => ({
      connectionId: r.connection_id,
      locationId: r.location_id,
      location: r.loc_addresses
        ? {
            addresses: r.loc_addresses,
            domains: r.loc_domains ?? [],
            betweenLocationUsers: !!r.between_users,
          }
        : null,
      connection: r.conn_addresses ? { addresses: r.conn_addresses, domains: r.conn_domains ?? [] } : null,
      locationUserAddresses: r.users ?? [],
    }));
  }
}
