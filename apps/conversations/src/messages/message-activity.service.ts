import { Inject, Injectable } from '@nestjs/common';
import {
  contactRepliedV1,
  messageBouncedV1,
  type PayloadOf,
  type messageSyncedV1,
} from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import type { Logger } from '@mailbridge/platform-observability';
import { LOGGER } from '@mailbridge/platform-runtime';
import { MessageActivityRepository } from './message-activity.repository';
import { normalizeMessageId } from './message-id';

type MessageSynced = PayloadOf<typeof messageSyncedV1>;

/**
 * SYN-9, once a synced message is recorded: its classification is kept, a bounce marks the CRM send it returns as
 * `bounced` (once, with `message.bounced`), and only a human's inbound reply to a CRM send of the conversation is
 * `contact.replied`. An automatic reply, a bounce, bulk mail, the user's own mail and an unclassified message (from a
 * producer before SYN-9) never are.
 */
@Injectable()
export class MessageActivityService {
  constructor(
    private readonly repo: MessageActivityRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async afterRecorded(tx: TransactionContext, p: MessageSynced, messageId: string): Promise<void> {
    const m = p.message;
    if (p.direction !== 'inbound' || !m.classification) return;
    await this.repo.setClassification(tx.manager, p.locationId, messageId, m.classification);
    if (m.classification === 'bounce') await this.bounced(tx, p, messageId);
    else if (m.classification === 'human' && p.source === 'mailbox') await this.replied(tx, p, messageId);
  }

  private async replied(tx: TransactionContext, p: MessageSynced, messageId: string): Promise<void> {
    const m = p.message;
    const replyIds = [m.inReplyTo, ...m.references]
      .map((id) => normalizeMessageId(id))
      .filter((id): id is string => id !== null);
    const answered = await this.repo.crmSendAnswered(tx.manager, p.locationId, p.conversationId, {
      replyIds,
      providerThreadId: m.providerThreadId,
      connectionId: p.connectionId,
    });
    if (!answered) return;
    tx.emit(contactRepliedV1, {
      locationId: p.locationId,
      contactId: p.contactId,
      conversationId: p.conversationId,
      messageId,
      inReplyToMessageId: answered,
      userId: p.userId,
      connectionId: p.connectionId,
      from: m.from,
      subject: m.subject,
      rfcMessageId: m.rfcMessageId,
      repliedAt: m.sentAt ?? m.receivedAt,
    });
  }

  private async bounced(tx: TransactionContext, p: MessageSynced, messageId: string): Promise<void> {
    const report = p.message.bounce;
    const original = normalizeMessageId(report?.originalMessageId);
    if (!report || !original) return;
    const send = await this.repo.lockCrmSendByMessageId(tx.manager, p.locationId, p.conversationId, original);
    if (!send || send.status === 'bounced') return;
    const bouncedAt = p.message.sentAt ?? p.message.receivedAt;
    await this.repo.markBounced(tx.manager, p.locationId, send.messageId, {
      recipients: report.recipients,
      status: report.status,
      diagnostic: report.diagnostic,
      bounceMessageId: messageId,
      bouncedAt,
    });
    tx.emit(messageBouncedV1, {
      locationId: p.locationId,
      contactId: send.contactId,
      conversationId: send.conversationId,
      messageId: send.messageId,
      bounceMessageId: messageId,
      recipients: report.recipients,
      status: report.status,
      diagnostic: report.diagnostic,
      bouncedAt,
    });
    this.logger.info(
      { locationId: p.locationId, messageId: send.messageId, status: report.status, rule: 'SYN-9' },
      'CRM send bounced',
    );
  }
}
