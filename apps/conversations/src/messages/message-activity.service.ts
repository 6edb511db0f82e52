import { Inject, Injectable } from '@nestjs/common';
import {
  contactRepliedV1,
  messageBouncedV1,
  type PayloadOf,
  type messageSyncedV1,
} from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { type Logger, runWithContext } from '@mailbridge/platform-observability';
import { LOGGER } from '@mailbridge/platform-runtime';
import { MessageActivityRepository } from './message-activity.repository';
import { normalizeMessageId } from './message-id';

type MessageSynced = PayloadOf<typeof messageSyncedV1>;

/** Where an event's effects are traced to (its correlation id, trace parent). */
export interface EventContext {
  readonly correlationId?: string;
  readonly traceparent?: string;
}

/** SYN-9: the classification a recorded message keeps (only inbound mail is classified). */
export function classificationOf(
  p: MessageSynced,
): NonNullable<MessageSynced['message']['classification']> | null {
  return p.direction === 'inbound' ? (p.message.classification ?? null) : null;
}

/** Only a human's inbound reply from the mailbox can be contact.replied. */
function isReplyCandidate(p: MessageSynced): boolean {
  return classificationOf(p) === 'human' && p.source === 'mailbox';
}

/** What the CRM send a reply answers is looked up by: the Message-IDs it names, its thread in its mailbox. */
function replyQuery(p: MessageSynced) {
  const m = p.message;
  return {
    replyIds: [m.inReplyTo, ...m.references]
      .map((id) => normalizeMessageId(id))
      .filter((id): id is string => id !== null),
    providerThreadId: m.providerThreadId,
    connectionId: p.connectionId,
  };
}

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
    const classification = classificationOf(p);
    if (!classification) return;
    await this.repo.setClassification(tx.manager, p.locationId, messageId, classification);
    if (classification === 'bounce') await this.bounced(tx, p, messageId);
    else if (isReplyCandidate(p)) {
      const answered = await this.repo.crmSendAnswered(
        tx.manager,
        p.locationId,
        p.conversationId,
        replyQuery(p),
      );
      this.replied(tx, p, messageId, answered);
    }
  }

  /**
   * afterRecorded for the messages a batch inserted, in their order, each in its own correlation context (what it
   * emits carries it). Their classification went in with the insert; the CRM sends the replies answer are looked up
   * in one statement (recording synced messages never changes what that lookup reads: the batch path records a
   * synced message that claims to be a CRM send one at a time, through the single path).
   */
  async afterRecordedBatch(
    tx: TransactionContext,
    recorded: ReadonlyArray<{ p: MessageSynced; messageId: string; context: EventContext }>,
  ): Promise<void> {
    const replies = recorded.filter((r) => isReplyCandidate(r.p));
    const answers = await this.repo.crmSendsAnswered(
      tx.manager,
      replies.map((r) => ({
        locationId: r.p.locationId,
        conversationId: r.p.conversationId,
        ...replyQuery(r.p),
      })),
    );
    const answerOf = new Map(replies.map((r, i) => [r, answers[i]] as const));
    for (const r of recorded) {
      await runWithContext(r.context, async () => {
        if (classificationOf(r.p) === 'bounce') await this.bounced(tx, r.p, r.messageId);
        else if (answerOf.has(r)) this.replied(tx, r.p, r.messageId, answerOf.get(r) ?? null);
      });
    }
  }

  private replied(
    tx: TransactionContext,
    p: MessageSynced,
    messageId: string,
    answered: string | null,
  ): void {
    const m = p.message;
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
