import { Injectable } from '@nestjs/common';
import { mailboxSyncHealthChangedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { ConnectionsRepository } from './connections.repository';

/** CON-2: keeps last-synced-at and last error per connection from mail-gateway's mailbox health reports. */
@Injectable()
export class SyncHealthConsumer {
  constructor(private readonly connections: ConnectionsRepository) {}

  @OnEvent(mailboxSyncHealthChangedV1, { group: 'sync-health' })
  async onMailboxEvent(
    event: EventOf<typeof mailboxSyncHealthChangedV1>,
    tx: TransactionContext,
  ): Promise<void> {
    const p = event.payload;
    const observedAt = new Date(event.occurredAt);
    await this.connections.applyHealth(
      tx.manager,
      p.connections.map((c) => ({
        connectionId: c.connectionId,
        locationId: c.locationId,
        stage: p.stage,
        lastSyncedAt: p.lastSyncedAt ? new Date(p.lastSyncedAt) : null,
        lastError: p.lastError,
        observedAt,
      })),
    );
  }
}
