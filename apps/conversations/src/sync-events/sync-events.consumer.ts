import { Inject, Injectable } from '@nestjs/common';
import {
  EventEnvelope,
  Topics,
  eventCatalog,
  mailboxAuditedV1,
  mailboxMessageQuarantinedV1,
  eventQuarantinedV1,
  mailboxSyncGapV1,
  messageSkippedV1,
} from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { SyncEventsService } from './sync-events.service';

/**
 * message.skipped (ATT-1, CON-3, CON-4...), mailbox.sync-gap (CON-5), mailbox.message-quarantined,
 * event.quarantined and an audit that found a gap (mailbox.audited, SYN-10) become sync events the CRM can list.
 */
@Injectable()
export class SyncEventsConsumer {
  constructor(
    private readonly syncEvents: SyncEventsService,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.syncMessages, group: 'skipped-messages' })
  async onSyncMessage(event: EventEnvelope): Promise<void> {
    if (!eventCatalog.is(event, messageSkippedV1)) return;
    await this.uow.handleOnce('skipped-messages', event, (tx) =>
      this.syncEvents.recordSkipped(tx.manager, event),
    );
  }

  @OnEvent({ topic: Topics.mailMailboxes, group: 'sync-gaps' })
  async onMailboxEvent(event: EventEnvelope): Promise<void> {
    if (eventCatalog.is(event, mailboxMessageQuarantinedV1)) {
      await this.uow.handleOnce('sync-gaps', event, (tx) =>
        this.syncEvents.recordMessageQuarantined(tx.manager, event),
      );
      return;
    }
    if (eventCatalog.is(event, mailboxAuditedV1)) {
      // Only an audit that found messages without an outcome is worth an entry (SYN-10); a clean one is not news.
      if (event.payload.missing === 0) return;
      await this.uow.handleOnce('sync-gaps', event, (tx) =>
        this.syncEvents.recordAuditHealed(tx.manager, event),
      );
      return;
    }
    if (!eventCatalog.is(event, mailboxSyncGapV1)) return;
    await this.uow.handleOnce('sync-gaps', event, (tx) => this.syncEvents.recordGap(tx.manager, event));
  }

  /** Any service's quarantined event that names a location. If this fails for good it is quarantined, never re-announced. */
  @OnEvent({ topic: Topics.platformQuarantine, group: 'quarantined-events' })
  async onQuarantined(event: EventEnvelope): Promise<void> {
    if (!eventCatalog.is(event, eventQuarantinedV1) || event.payload.locationId === null) return;
    await this.uow.handleOnce('quarantined-events', event, (tx) =>
      this.syncEvents.recordQuarantined(tx.manager, event),
    );
  }
}
