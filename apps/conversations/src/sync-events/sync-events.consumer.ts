import { Injectable } from '@nestjs/common';
import {
  eventCatalog,
  mailboxAuditedV1,
  mailboxMessageQuarantinedV1,
  eventQuarantinedV1,
  mailboxSyncGapV1,
  messageSkippedV1,
  smartBccRefusedV1,
} from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { SyncEventsService } from './sync-events.service';

const MAILBOX_EVENTS = [
  mailboxMessageQuarantinedV1,
  mailboxAuditedV1,
  mailboxSyncGapV1,
  smartBccRefusedV1,
] as const;

/**
 * message.skipped (ATT-1, CON-3, CON-4...), smart-bcc.refused (BCC-1), mailbox.sync-gap (CON-5), mailbox.message-quarantined,
 * event.quarantined and an audit that found a gap (mailbox.audited, SYN-10) become sync events the CRM can list.
 */
@Injectable()
export class SyncEventsConsumer {
  constructor(private readonly syncEvents: SyncEventsService) {}

  @OnEvent(messageSkippedV1, { group: 'skipped-messages' })
  async onSyncMessage(event: EventOf<typeof messageSkippedV1>, tx: TransactionContext): Promise<void> {
    await this.syncEvents.recordSkipped(tx, event);
  }

  @OnEvent(MAILBOX_EVENTS, { group: 'sync-gaps' })
  async onMailboxEvent(event: EventOf<typeof MAILBOX_EVENTS>, tx: TransactionContext): Promise<void> {
    if (eventCatalog.is(event, mailboxMessageQuarantinedV1)) {
      await this.syncEvents.recordMessageQuarantined(tx, event);
    } else if (eventCatalog.is(event, mailboxAuditedV1)) {
      // Only an audit that found messages without an outcome is worth an entry (SYN-10); a clean one is not news.
      if (event.payload.missing > 0) await this.syncEvents.recordAuditHealed(tx, event);
    } else if (eventCatalog.is(event, smartBccRefusedV1)) {
      await this.syncEvents.recordSmartBccRefused(tx, event);
    } else {
      await this.syncEvents.recordGap(tx, event);
    }
  }

  /** Any service's quarantined event that names a location. If this fails for good it is quarantined, never re-announced. */
  @OnEvent(eventQuarantinedV1, { group: 'quarantined-events' })
  async onQuarantined(event: EventOf<typeof eventQuarantinedV1>, tx: TransactionContext): Promise<void> {
    if (event.payload.locationId === null) return;
    await this.syncEvents.recordQuarantined(tx, event);
  }
}
