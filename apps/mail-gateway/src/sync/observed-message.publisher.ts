import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { messageObservedV1, storableText } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { GatewayMetrics } from '../common/gateway.metrics';
import type { NormalizedMessage } from './message-normalizer.service';
import { ObservedMessagesRepository } from './observed-messages.repository';

export interface ObservingMailbox {
  readonly id: string;
  readonly mailboxKey: string;
  readonly emailAddress: string;
  readonly provider: 'google' | 'microsoft';
}

/**
 * Publishes `message.observed` once per message per mailbox: the observed id and the event go into the same
 * transaction as the cursor move, so a redelivered notification, an overlapping poll or a gap re-list never emits a
 * message twice, and a crash before the commit loses nothing (the cursor did not move either).
 */
@Injectable()
export class ObservedMessagePublisher {
  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: GatewayMetrics,
    private readonly observed: ObservedMessagesRepository,
  ) {}

  /** The ids of these that were never observed (so the pull does not fetch them again). */
  async unseen(mailboxId: string, providerMessageIds: readonly string[]): Promise<string[]> {
    if (providerMessageIds.length === 0) return [];
    // Stored ids are storable text (the normalizer made them so); compare like with like.
    const known = await this.observed.seenAmong(
      this.dataSource,
      mailboxId,
      providerMessageIds.map(storableText),
    );
    return [...new Set(providerMessageIds)].filter((id) => !known.has(storableText(id)));
  }

  /**
   * A pulled page's look-up in one statement (issue 16): the ids never observed, in order, and the open failure
   * records among them (quarantined ones are passed by, the others keep being counted).
   */
  async pageStatus(
    mailboxId: string,
    providerMessageIds: readonly string[],
  ): Promise<{ unseen: string[]; open: Map<string, { quarantined: boolean }> }> {
    if (providerMessageIds.length === 0) return { unseen: [], open: new Map() };
    const ids = [...new Set(providerMessageIds)];
    const { observed, open } = await this.observed.pageStatus(
      this.dataSource,
      mailboxId,
      ids.map(storableText),
      ids,
    );
    const unseen = ids.filter((id) => !observed.has(storableText(id)));
    const unseenSet = new Set(unseen);
    return { unseen, open: new Map([...open].filter(([id]) => unseenSet.has(id))) };
  }

  /**
   * SYN-10 audit: emits `message.observed` again for messages observed before whose outcome never reached the ledger
   * (the event or its decision was lost). sync-engine recognises a repeat and announces the stored outcome again.
   */
  async republish(
    tx: TransactionContext,
    mailbox: ObservingMailbox,
    messages: readonly NormalizedMessage[],
  ): Promise<void> {
    const observedAt = new Date().toISOString();
    // Observed again now: the audit's grace period starts over, so the next audit waits for this decision.
    await this.observed.touch(
      tx.manager,
      mailbox.id,
      messages.map((m) => m.message.providerMessageId),
    );
    for (const m of messages) {
      tx.emit(messageObservedV1, {
        mailboxId: mailbox.id,
        mailboxKey: mailbox.mailboxKey,
        mailboxAddress: mailbox.emailAddress,
        source: 'mailbox',
        direction: m.direction,
        inSent: m.inSent,
        labels: m.labels,
        message: m.message,
        observedAt,
      });
    }
  }

  /** Emits the messages not observed before, in the given order; returns how many were emitted. */
  async publish(
    tx: TransactionContext,
    mailbox: ObservingMailbox,
    messages: readonly NormalizedMessage[],
    source: 'mailbox' | 'smart_bcc' = 'mailbox',
  ): Promise<number> {
    if (messages.length === 0) return 0;
    const fresh = await this.observed.claim(
      tx.manager,
      mailbox.id,
      messages.map((m) => m.message.providerMessageId),
    );
    const observedAt = new Date().toISOString();
    let emitted = 0;
    for (const m of messages) {
      if (!fresh.delete(m.message.providerMessageId)) continue;
      tx.emit(messageObservedV1, {
        mailboxId: mailbox.id,
        mailboxKey: mailbox.mailboxKey,
        mailboxAddress: mailbox.emailAddress,
        source,
        direction: m.direction,
        inSent: m.inSent,
        labels: m.labels,
        message: m.message,
        observedAt,
      });
      const labels = { provider: mailbox.provider, direction: m.direction };
      tx.afterCommit(() => this.metrics.messagesObserved.inc(labels));
      emitted++;
    }
    return emitted;
  }
}
