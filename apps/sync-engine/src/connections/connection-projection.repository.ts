import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ConnectionSnapshot } from '@mailbridge/contracts';
import type { ConnectionView } from '../decisions/decision.types';

interface ConnectionRow {
  connection_id: string;
  location_id: string;
  user_id: string;
  provider: ConnectionView['provider'];
  email_normalized: string | null;
  mailbox_key: string | null;
  sync_scope: ConnectionView['syncScope'];
  status: ConnectionView['status'];
}

export function toConnectionView(r: ConnectionRow): ConnectionView {
  return {
    connectionId: r.connection_id,
    locationId: r.location_id,
    userId: r.user_id,
    provider: r.provider,
    emailNormalized: r.email_normalized,
    mailboxKey: r.mailbox_key,
    syncScope: r.sync_scope,
    status: r.status,
  };
}

export type { ConnectionRow };

/** The connection projection. Ending states (disconnected, replaced) are final: a late event never revives them. */
@Injectable()
export class ConnectionProjectionRepository {
  /** Applies a snapshot; returns the status now stored (a final one wins over the snapshot's). */
  async upsert(tx: EntityManager, c: ConnectionSnapshot, endedAt: string | null): Promise<ConnectionView> {
    const rows: ConnectionRow[] = await tx.query(
      `INSERT INTO sync_engine.connection_projection
         (connection_id, location_id, user_id, provider, email_normalized, mailbox_key, sync_scope, status,
          connected_at, ended_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (connection_id) DO UPDATE SET
         location_id = EXCLUDED.location_id,
         user_id = EXCLUDED.user_id,
         provider = EXCLUDED.provider,
         email_normalized = EXCLUDED.email_normalized,
         mailbox_key = EXCLUDED.mailbox_key,
         sync_scope = EXCLUDED.sync_scope,
         connected_at = EXCLUDED.connected_at,
         status = CASE WHEN connection_projection.status IN ('disconnected', 'replaced')
                       THEN connection_projection.status ELSE EXCLUDED.status END,
         ended_at = COALESCE(connection_projection.ended_at, EXCLUDED.ended_at),
         updated_at = now()
       RETURNING connection_id, location_id, user_id, provider, email_normalized, mailbox_key, sync_scope, status`,
      [
        c.connectionId,
        c.locationId,
        c.userId,
        c.provider,
        c.emailAddress.trim().toLowerCase(),
        c.mailboxKey,
        c.syncScope,
        c.status,
        c.connectedAt,
        endedAt,
      ],
    );
    return toConnectionView(rows[0]);
  }

  /**
   * CON-3: the previous connection of an update-email is replaced. It may not be known yet (its events travel under
   * its own key): a placeholder keeps the final status until they arrive.
   */
  async markReplaced(
    tx: EntityManager,
    connectionId: string,
    owner: { locationId: string; userId: string },
    at: string,
  ): Promise<ConnectionView> {
    const rows: ConnectionRow[] = await tx.query(
      `INSERT INTO sync_engine.connection_projection (connection_id, location_id, user_id, status, ended_at)
       VALUES ($1, $2, $3, 'replaced', $4)
       ON CONFLICT (connection_id) DO UPDATE SET
         status = CASE WHEN connection_projection.status = 'disconnected' THEN 'disconnected' ELSE 'replaced' END,
         ended_at = COALESCE(connection_projection.ended_at, EXCLUDED.ended_at),
         updated_at = now()
       RETURNING connection_id, location_id, user_id, provider, email_normalized, mailbox_key, sync_scope, status`,
      [connectionId, owner.locationId, owner.userId, at],
    );
    return toConnectionView(rows[0]);
  }

  /** The mailbox a connection watches, when known. */
  async mailboxOf(tx: EntityManager, connectionId: string): Promise<string | null> {
    const rows: Array<{ mailbox_key: string | null }> = await tx.query(
      `SELECT mailbox_key FROM sync_engine.connection_projection WHERE connection_id = $1`,
      [connectionId],
    );
    return rows[0]?.mailbox_key ?? null;
  }

  /** The user's connections in a location (routing, SND-1/SND-2). */
  async forUser(tx: EntityManager, locationId: string, userId: string): Promise<ConnectionView[]> {
    const rows: ConnectionRow[] = await tx.query(
      `SELECT connection_id, location_id, user_id, provider, email_normalized, mailbox_key, sync_scope, status
       FROM sync_engine.connection_projection WHERE location_id = $1 AND user_id = $2`,
      [locationId, userId],
    );
    return rows.map(toConnectionView);
  }
}
