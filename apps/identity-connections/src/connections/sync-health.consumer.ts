import { Injectable } from '@nestjs/common';
import { eventCatalog, mailboxAuditedV1, mailboxSyncHealthChangedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { ConnectionsRepository } from './connections.repository';

const MAILBOX_EVENTS = [mailboxSyncHealthChangedV1, mailboxAuditedV1] as const;

/**
 * CON-2: keeps last-synced-at and last error per connection from mail-gateway's mailbox health reports, and the
 * latest completeness audit report (SYN-10: `lastAuditAt`, `completeness`, `.../email-connection/audit`).
 */
@Injectable()
export class SyncHealthConsumer {
  constructor(private readonly connections: ConnectionsRepository) {}

  @OnEvent(MAILBOX_EVENTS, { group: 'sync-health' })
  async onMailboxEvent(event: EventOf<typeof MAILBOX_EVENTS>, tx: TransactionContext): Promise<void> {
    if (eventCatalog.is(event, mailboxAuditedV1)) {
      const p = event.payload;
      const report = {
        window: p.window,
        checkedAt: p.checkedAt,
        providerMessages: p.providerMessages,
        accounted: p.accounted,
        missing: p.missing,
        healed: p.healed,
        status: p.status,
      };
      await this.connections.applyAudit(
        tx.manager,
        p.connections.map((c) => ({ connectionId: c.connectionId, locationId: c.locationId, report })),
      );
      return;
    }
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
