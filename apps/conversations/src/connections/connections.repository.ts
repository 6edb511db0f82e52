import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import type { ConnectionSnapshot } from '@mailbridge/contracts';
import { ConnectionEntity } from './connection.entity';

@Injectable()
export class ConnectionsRepository {
  constructor(@InjectRepository(ConnectionEntity) private readonly repo: Repository<ConnectionEntity>) {}

  /** The user's active connection in this location (CON-2: at most one). */
  findActive(locationId: string, userId: string): Promise<ConnectionEntity | null> {
    return this.repo.findOne({
      where: { locationId, userId, status: 'active' },
      order: { connectedAt: 'DESC' },
    });
  }

  async apply(
    tx: EntityManager,
    snapshot: ConnectionSnapshot,
    status: ConnectionEntity['status'],
  ): Promise<void> {
    await tx.query(
      `INSERT INTO conversations.connections
         (connection_id, location_id, user_id, provider, email_address, mailbox_key, status, connected_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
       ON CONFLICT (connection_id) DO UPDATE SET
         provider = EXCLUDED.provider, email_address = EXCLUDED.email_address, mailbox_key = EXCLUDED.mailbox_key,
         status = EXCLUDED.status, connected_at = EXCLUDED.connected_at, updated_at = now()`,
      [
        snapshot.connectionId,
        snapshot.locationId,
        snapshot.userId,
        snapshot.provider,
        snapshot.emailAddress,
        snapshot.mailboxKey,
        status,
        snapshot.connectedAt,
      ],
    );
  }

  async markReplaced(tx: EntityManager, locationId: string, connectionId: string): Promise<void> {
    await tx.query(
      `UPDATE conversations.connections SET status = 'replaced', updated_at = now()
       WHERE location_id = $1 AND connection_id = $2`,
      [locationId, connectionId],
    );
  }
}
