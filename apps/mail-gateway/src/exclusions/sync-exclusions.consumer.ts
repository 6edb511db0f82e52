import { Injectable } from '@nestjs/common';
import { connectionSyncExclusionsChangedV1, syncExclusionsChangedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { SyncExclusionsRepository } from './sync-exclusions.repository';

/** SYN-8: the CRM's exclusion lists (conversations, identity-connections) → the projection the pulls screen with. */
@Injectable()
export class SyncExclusionsConsumer {
  constructor(private readonly lists: SyncExclusionsRepository) {}

  @OnEvent(syncExclusionsChangedV1, { group: 'sync-exclusions' })
  async onChanged(event: EventOf<typeof syncExclusionsChangedV1>, tx: TransactionContext): Promise<void> {
    await this.lists.apply(tx.manager, event.payload);
  }

  @OnEvent(connectionSyncExclusionsChangedV1, { group: 'connection-sync-exclusions' })
  async onConnectionChanged(
    event: EventOf<typeof connectionSyncExclusionsChangedV1>,
    tx: TransactionContext,
  ): Promise<void> {
    await this.lists.apply(tx.manager, event.payload);
  }
}
