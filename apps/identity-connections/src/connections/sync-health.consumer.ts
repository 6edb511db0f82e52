import { Inject, Injectable } from '@nestjs/common';
import {
  EventEnvelope,
  Topics,
  eventCatalog,
  mailboxAuditedV1,
  mailboxSyncHealthChangedV1,
} from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ConnectionsRepository } from './connections.repository';

const GROUP = 'sync-health';

/**
 * CON-2: keeps last-synced-at and last error per connection from mail-gateway's mailbox health reports, and the
 * latest completeness audit report (SYN-10: `lastAuditAt`, `completeness`, `.../email-connection/audit`).
 */
@Injectable()
export class SyncHealthConsumer {
  constructor(
    private readonly connections: ConnectionsRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.mailMailboxes, group: GROUP })
  async onMailboxEvent(event: EventEnvelope): Promise<void> {
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
      await this.uow.handleOnce(GROUP, event, async (tx) => {
        await this.connections.applyAudit(
          tx.manager,
          p.connections.map((c) => ({ connectionId: c.connectionId, locationId: c.locationId, report })),
        );
      });
      return;
    }
    if (!eventCatalog.is(event, mailboxSyncHealthChangedV1)) return;
    const p = event.payload;
    const observedAt = new Date(event.occurredAt);
    await this.uow.handleOnce(GROUP, event, async (tx) => {
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
    });
  }
}
