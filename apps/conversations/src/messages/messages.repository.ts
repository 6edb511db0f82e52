import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { SEND_KINDS, countsTowardSendingCap, type SendingCapUsage } from '@mailbridge/domain-mail';
import { AttachmentEntity } from './attachment.entity';
import { MessageEntity, type StoredAddress } from './message.entity';
import { sortKeyOf } from './message-order';
import { placeOf, repositionCrmSend } from './message-placement.repository';
import { insertAttachments } from './messages-batch.repository';
import { findSameAmong, type SyncedIdentity } from './same-message';
import {
  type MessageCursor,
  type MessageIdentity,
  type NewAttachment,
  type NewMessage,
  messageInsertValues,
  rowCount,
} from './message-rows';

export type { MessageCursor, MessageIdentity, NewAttachment, NewMessage } from './message-rows';

/** The kinds of send that count toward a mailbox's SND-4 cap when sent through it. */
const CAP_COUNTED_KINDS = SEND_KINDS.filter((kind) => countsTowardSendingCap(kind, 'mailbox'));

/** Every query is scoped by location (the SND-4 count is by mailbox, see there). */
@Injectable()
export class MessagesRepository {
  constructor(
    @InjectRepository(MessageEntity) private readonly messages: Repository<MessageEntity>,
    @InjectRepository(AttachmentEntity) private readonly attachments: Repository<AttachmentEntity>,
  ) {}

  find(locationId: string, messageId: string): Promise<MessageEntity | null> {
    return this.messages.findOneBy({ locationId, messageId });
  }

  findInConversation(
    locationId: string,
    conversationId: string,
    messageId: string,
  ): Promise<MessageEntity | null> {
    return this.messages.findOneBy({ locationId, conversationId, messageId });
  }

  /**
   * SYN-6: by date (whole seconds), then when the provider received it, then arrival. The keyset continues after
   * `after`; seq makes the key unique, so pages stay exact under inserts.
   */
  page(
    locationId: string,
    conversationId: string,
    after: MessageCursor | undefined,
    limit: number,
    options: { hideMailboxDeleted?: boolean } = {},
  ): Promise<MessageEntity[]> {
    const qb = this.messages
      .createQueryBuilder('m')
      .where('m.locationId = :locationId AND m.conversationId = :conversationId', {
        locationId,
        conversationId,
      })
      .orderBy('m.sortSecond', 'ASC')
      .addOrderBy('m.sortReceivedAt', 'ASC')
      .addOrderBy('m.seq', 'ASC')
      .take(limit);
    // SYN-7 location policy: messages deleted from the mailbox are kept, only left out of the list.
    if (options.hideMailboxDeleted) {
      qb.andWhere(`COALESCE((m.mailbox_state -> 'deleted' ->> 'value')::boolean, false) = false`);
    }
    if (after) {
      qb.andWhere(
        `(m.sortSecond, m.sortReceivedAt, m.seq) >
         (CAST(:second AS timestamptz), CAST(:receivedAt AS timestamptz), CAST(:seq AS bigint))`,
        after,
      );
    }
    return qb.getMany();
  }

  /** Where the message with this seq sits in the listing order (for a previous release's cursor). */
  async sortKeyOfSeq(
    locationId: string,
    conversationId: string,
    seq: string,
  ): Promise<{ second: Date; receivedAt: Date } | null> {
    const row = await this.messages.findOne({
      select: { sortSecond: true, sortReceivedAt: true },
      where: { locationId, conversationId, seq },
    });
    return row && { second: row.sortSecond, receivedAt: row.sortReceivedAt };
  }

  attachmentsOf(locationId: string, messageIds: readonly string[]): Promise<AttachmentEntity[]> {
    if (messageIds.length === 0) return Promise.resolve([]);
    return this.attachments.find({
      where: { locationId, messageId: In([...messageIds]) },
      order: { messageId: 'ASC', position: 'ASC' },
    });
  }

  findAttachment(locationId: string, attachmentId: string): Promise<AttachmentEntity | null> {
    return this.attachments.findOneBy({ locationId, attachmentId });
  }

  /** Inserts unless the message is already recorded in its conversation (SYN-5); true when inserted. */
  async insert(
    tx: EntityManager,
    message: NewMessage,
    attachments: readonly NewAttachment[],
  ): Promise<boolean> {
    const key = await placeOf(tx, message, sortKeyOf(message));
    const { columns, placeholders, params } = messageInsertValues(message, key);
    const inserted: unknown[] = await tx.query(
      `INSERT INTO conversations.messages (${columns.join(', ')}, created_at, updated_at)
       VALUES (${placeholders.join(', ')}, now(), now())
       ON CONFLICT DO NOTHING RETURNING message_id`,
      params,
    );
    if (inserted.length === 0) return false;
    await insertAttachments(tx, attachments);
    return true;
  }

  /**
   * The message of this conversation that is the same as `id` (SYN-5), locked: same delivery, same provider message,
   * or the same Message-ID on a message that is provably the same email (`sameEmail`: also sender, Date, subject) or
   * on our own CRM send (a Message-ID we generated). A recorded message that only shares the Message-ID is another
   * email (loss path 5): reported as `reusedMessageId`, never merged.
   */
  async findSame(
    tx: EntityManager,
    locationId: string,
    conversationId: string,
    id: SyncedIdentity,
  ): Promise<{ existing: MessageEntity | null; reusedMessageId: boolean }> {
    const any: string[] = [];
    if (id.deliveryId) any.push('m.deliveryId = :deliveryId');
    if (id.providerMessageId && id.provider) {
      any.push('(m.provider = :provider AND m.providerMessageId = :providerMessageId)');
    }
    if (id.rfcMessageId) any.push('m.rfcMessageId = :rfcMessageId');
    if (any.length === 0) return { existing: null, reusedMessageId: false };
    const candidates = await tx
      .getRepository(MessageEntity)
      .createQueryBuilder('m')
      .setLock('pessimistic_write')
      .where('m.locationId = :locationId AND m.conversationId = :conversationId', {
        locationId,
        conversationId,
      })
      .andWhere(`(${any.join(' OR ')})`, id)
      .orderBy('m.seq', 'ASC')
      .getMany();
    return findSameAmong(candidates, id);
  }

  /** A CRM message of this conversation by id, locked (the Sent copy names it, SYN-5). */
  lockInConversation(
    tx: EntityManager,
    locationId: string,
    conversationId: string,
    messageId: string,
  ): Promise<MessageEntity | null> {
    return tx.getRepository(MessageEntity).findOne({
      where: { locationId, conversationId, messageId },
      lock: { mode: 'pessimistic_write' },
    });
  }

  /**
   * The mailbox copy of a message already recorded (e.g. the Sent copy of a CRM send): fills in what the
   * provider knows, and a pending CRM message becomes sent. Only a CRM send's place can change with it (SYN-6).
   */
  async confirmFromMailbox(
    tx: EntityManager,
    locationId: string,
    messageId: string,
    copy: MessageIdentity & { providerThreadId: string | null; sentAt: Date | null; receivedAt: Date },
  ): Promise<void> {
    await tx.query(
      `UPDATE conversations.messages SET
         status = CASE WHEN source = 'crm' AND status <> 'bounced' THEN 'sent' ELSE status END,
         failure_code = CASE WHEN source = 'crm' THEN NULL ELSE failure_code END,
         failure_message = CASE WHEN source = 'crm' THEN NULL ELSE failure_message END,
         delivery_id = COALESCE(delivery_id, $3),
         provider = COALESCE(provider, $4),
         provider_message_id = COALESCE(provider_message_id, $5),
         rfc_message_id = COALESCE(rfc_message_id, $6),
         provider_thread_id = COALESCE(provider_thread_id, $7),
         sent_at = COALESCE(sent_at, $8),
         received_at = COALESCE(received_at, $9),
         updated_at = now()
       WHERE location_id = $1 AND message_id = $2`,
      [
        locationId,
        messageId,
        copy.deliveryId ?? null,
        copy.provider ?? null,
        copy.providerMessageId ?? null,
        copy.rfcMessageId ?? null,
        copy.providerThreadId,
        copy.sentAt,
        copy.receivedAt,
      ],
    );
    await repositionCrmSend(tx, locationId, messageId);
  }

  /**
   * send.succeeded: the provider took it. It counts toward the mailbox's cap as `countsTowardSendingCap` says (the
   * caller passes the mailbox only for a mailbox route; the row's kind decides the rest).
   */
  async markSent(
    tx: EntityManager,
    locationId: string,
    messageId: string,
    s: {
      provider: string | null;
      providerMessageId: string | null;
      providerThreadId: string | null;
      rfcMessageId: string | null;
      sentAt: Date;
      connectionId: string | null;
      mailboxKey: string | null;
      /** The From it went out with, when mail-gateway says (it wins over the one guessed at accept time). */
      from?: StoredAddress | null;
    },
  ): Promise<boolean> {
    const updated: unknown[] = await tx.query(
      `UPDATE conversations.messages SET
         status = CASE WHEN status = 'bounced' THEN status ELSE 'sent' END, failure_code = NULL, failure_message = NULL,
         provider = COALESCE(provider, $3), provider_message_id = COALESCE(provider_message_id, $4),
         provider_thread_id = COALESCE(provider_thread_id, $5), rfc_message_id = COALESCE(rfc_message_id, $6),
         sent_at = $7, connection_id = $8,
         mailbox_key = CASE WHEN kind = ANY($10) THEN $9 ELSE NULL END,
         from_address = COALESCE($11::jsonb, from_address), updated_at = now()
       WHERE location_id = $1 AND message_id = $2 AND source = 'crm'
       RETURNING message_id`,
      [
        locationId,
        messageId,
        s.provider,
        s.providerMessageId,
        s.providerThreadId,
        s.rfcMessageId,
        s.sentAt,
        s.connectionId,
        s.mailboxKey,
        CAP_COUNTED_KINDS,
        s.from ? JSON.stringify(s.from) : null,
      ],
    );
    if (rowCount(updated) === 0) return false;
    await repositionCrmSend(tx, locationId, messageId);
    return true;
  }

  /** send.failed: nothing went out; a message already confirmed sent (its Sent copy was seen) stays sent. */
  async markFailed(
    tx: EntityManager,
    locationId: string,
    messageId: string,
    failure: { code: string; message: string },
  ): Promise<{ outcome: 'failed' | 'already_sent' | 'missing'; subject: string | null }> {
    const rows: Array<{ status: string; subject: string }> = await tx.query(
      `SELECT status, subject FROM conversations.messages
       WHERE location_id = $1 AND message_id = $2 AND source = 'crm' FOR UPDATE`,
      [locationId, messageId],
    );
    if (rows.length === 0) return { outcome: 'missing', subject: null };
    if (rows[0].status === 'sent') return { outcome: 'already_sent', subject: rows[0].subject };
    await tx.query(
      `UPDATE conversations.messages SET status = 'failed', failure_code = $3, failure_message = $4,
         mailbox_key = NULL, updated_at = now()
       WHERE location_id = $1 AND message_id = $2`,
      [locationId, messageId, failure.code, failure.message],
    );
    return { outcome: 'failed', subject: rows[0].subject };
  }

  /**
   * SND-4 pre-check: individual CRM emails routed through this mailbox since `since`. The cap belongs to the
   * mailbox, which one user may connect in several locations, so this one count spans them; it returns numbers only.
   */
  async mailboxSends(mailboxKey: string, since: Date, cap: number): Promise<SendingCapUsage> {
    const rows: Array<{ count: string; nth: Date | null }> = await this.messages.query(
      `SELECT count(*) AS count,
              (array_agg(created_at ORDER BY created_at DESC))[$3] AS nth
       FROM conversations.messages
       WHERE mailbox_key = $1 AND created_at > $2 AND status IN ('pending', 'sent')`,
      [mailboxKey, since, Math.max(cap, 1)],
    );
    return { sentInWindow: Number(rows[0]?.count ?? 0), capthMostRecentAt: rows[0]?.nth ?? null };
  }
}
