import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { messageObservedV1, storableText } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { GatewayMetrics } from '../common/gateway.metrics';
import type { NormalizedMessage } from './message-normalizer.service';
import { queryRows } from '@mailbridge/platform-persistence';

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
  ) {}

  /** The ids of these that were never observed (so the pull does not fetch them again). */
  async unseen(mailboxId: string, providerMessageIds: readonly string[]): Promise<string[]> {
    if (providerMessageIds.length === 0) return [];
    const seen = await queryRows<{ provider_message_id: string }>(
      this.dataSource,
      `SELECT provider_message_id FROM mail_gateway.observed_messages
        WHERE mailbox_id = $1 AND provider_message_id = ANY($2::text[])`,
      // Stored ids are storable text (the normalizer made them so); compare like with like.
      [mailboxId, providerMessageIds.map(storableText)],
    );
    const known = new Set(seen.map((r) => r.provider_message_id));
    return [...new Set(providerMessageIds)].filter((id) => !known.has(storableText(id)));
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
    await tx.manager.query(
      `UPDATE mail_gateway.observed_messages SET observed_at = now()
        WHERE mailbox_id = $1 AND provider_message_id = ANY($2::text[])`,
      [mailbox.id, messages.map((m) => m.message.providerMessageId)],
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
    const inserted = await queryRows<{ provider_message_id: string }>(
      tx.manager,
      `INSERT INTO mail_gateway.observed_messages (mailbox_id, provider_message_id)
       SELECT $1, unnest($2::text[])
       ON CONFLICT DO NOTHING RETURNING provider_message_id`,
      [mailbox.id, messages.map((m) => m.message.providerMessageId)],
    );
    const fresh = new Set(inserted.map((r) => r.provider_message_id));
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
      this.metrics.messagesObserved.inc({ provider: mailbox.provider, direction: m.direction });
      emitted++;
    }
    return emitted;
  }
}
