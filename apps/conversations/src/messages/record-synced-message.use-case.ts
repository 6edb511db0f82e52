import { Inject, Injectable } from '@nestjs/common';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { conversationIdFor, type PayloadOf, type messageSyncedV1 } from '@mailbridge/contracts';
import { PermanentEventError } from '@mailbridge/platform-messaging';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import { LOGGER, METRICS } from '@mailbridge/platform-runtime';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { normalizeMessageId } from './message-id';
import { MessageActivityService } from './message-activity.service';
import { attachmentRowsOf, syncedMessageRow } from './message-row.factory';
import { MessagesRepository } from './messages.repository';

export type MessageSynced = PayloadOf<typeof messageSyncedV1>;

/** A message.synced names its contact's conversation; another one is a producer bug (never retried). */
export function assertConversationOf(p: MessageSynced): void {
  if (p.conversationId !== conversationIdFor(p.locationId, p.contactId)) {
    throw new PermanentEventError(
      `conversationId ${p.conversationId} is not the conversation of contact ${p.contactId}`,
      'conversation_mismatch',
    );
  }
}

/**
 * Records a message sync-engine placed in a conversation, once per conversation (SYN-5): a copy already recorded
 * (same delivery, same provider message, the same email by Message-ID + sender + Date + subject, or the CRM send it
 * confirms) is merged into the existing entry instead of adding one. Another message that only reuses a recorded
 * Message-ID is recorded too (loss path 5) and counted. Its place is its Date header (whole seconds), then when the provider received
 * it, so late arrivals still list in order (SYN-6; see message-order.ts).
 */
@Injectable()
export class RecordSyncedMessageUseCase {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly conversations: ConversationsRepository,
    private readonly activity: MessageActivityService,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(tx: TransactionContext, p: MessageSynced): Promise<'recorded' | 'merged'> {
    const { manager } = tx;
    assertConversationOf(p);
    const m = p.message;
    const rfcMessageId = normalizeMessageId(m.rfcMessageId);
    const identity = {
      deliveryId: p.deliveryId,
      provider: m.provider,
      providerMessageId: m.providerMessageId,
      rfcMessageId,
    };
    const copy = {
      ...identity,
      providerThreadId: m.providerThreadId,
      sentAt: m.sentAt ? new Date(m.sentAt) : null,
      receivedAt: new Date(m.receivedAt),
    };
    const crmMessage =
      p.crmMessageId &&
      (await this.messages.lockInConversation(manager, p.locationId, p.conversationId, p.crmMessageId));
    const same = crmMessage
      ? { existing: crmMessage, reusedMessageId: false }
      : await this.messages.findSame(manager, p.locationId, p.conversationId, {
          ...identity,
          from: m.from,
          sentAt: m.sentAt,
          subject: m.subject,
        });
    const existing = same.existing;
    if (same.reusedMessageId) this.reportReusedMessageId(tx, p);
    if (existing) {
      await this.messages.confirmFromMailbox(manager, p.locationId, existing.messageId, copy);
      return 'merged';
    }

    const row = syncedMessageRow(p);
    const messageId = row.messageId;
    const sortAt = row.sortAt;
    const attachments = attachmentRowsOf(p.locationId, messageId, m.attachments);
    const inserted = await this.messages.insert(manager, row, attachments);
    if (!inserted) return 'merged';
    await this.conversations.recordMessage(manager, {
      locationId: p.locationId,
      conversationId: p.conversationId,
      contactId: p.contactId,
      at: sortAt,
      subject: m.subject,
    });
    // SYN-9: classification, a bounced CRM send, contact.replied.
    await this.activity.afterRecorded(tx, p, messageId);
    return 'recorded';
  }

  /** Loss path 5: counted (once the transaction commits) and logged, the message is recorded as its own. */
  reportReusedMessageId(tx: TransactionContext, p: MessageSynced): void {
    tx.afterCommit(() =>
      this.metrics
        .counter(
          'conversations_message_id_collisions_total',
          'Synced messages whose Message-ID another message of the conversation already carries; both kept',
        )
        .inc(),
    );
    this.logger.warn(
      {
        locationId: p.locationId,
        conversationId: p.conversationId,
        deliveryId: p.deliveryId,
        rule: 'SYN-5',
      },
      'Message-ID reused by another message of the conversation: recorded as its own message',
    );
  }
}
