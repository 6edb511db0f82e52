import { Injectable } from '@nestjs/common';
import type { EventEnvelope, PayloadOf, sendFailedV1, sendSucceededV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { normalizeMessageId } from '../messages/message-id';
import { MessagesRepository } from '../messages/messages.repository';
import { SyncEventsService } from '../sync-events/sync-events.service';

/** A CRM send's status from mail-gateway's delivery reports: `sent` with the provider ids, or `failed` with why. */
@Injectable()
export class RecordSendOutcomeUseCase {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly syncEvents: SyncEventsService,
  ) {}

  async succeeded(tx: TransactionContext, p: PayloadOf<typeof sendSucceededV1>): Promise<void> {
    const viaMailbox = p.route.kind === 'mailbox' ? p.route : null;
    await this.messages.markSent(tx.manager, p.locationId, p.sendId, {
      provider: p.provider,
      providerMessageId: p.providerMessageId,
      providerThreadId: p.providerThreadId,
      rfcMessageId: normalizeMessageId(p.rfcMessageId),
      sentAt: new Date(p.sentAt),
      connectionId: viaMailbox?.connectionId ?? null,
      // Only mail that went through the mailbox counts against its cap (SND-4).
      mailboxKey: viaMailbox?.mailboxKey ?? null,
      from: p.from ?? null,
    });
  }

  /** A failure is also a sync event (SND-4 caps, refusals...), unless the mailbox already showed it sent. */
  async failed(tx: TransactionContext, event: EventEnvelope<PayloadOf<typeof sendFailedV1>>): Promise<void> {
    const p = event.payload;
    const result = await this.messages.markFailed(tx.manager, p.locationId, p.sendId, {
      code: p.code,
      message: p.message,
    });
    if (result.outcome === 'already_sent') return;
    await this.syncEvents.recordSendFailed(tx, event, result.subject);
  }
}
