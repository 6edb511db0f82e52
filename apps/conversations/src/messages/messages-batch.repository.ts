// The batch path's reads and writes on conversations.messages (issue 16): a constant number of statements per batch
// of synced messages, whatever its size. The single path's counterparts are in messages.repository.ts and
// message-placement.repository.ts; both must leave the same rows.
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { queryPrepared } from '@mailbridge/platform-persistence';
import { MessageEntity } from './message.entity';
import type { SortKey } from './message-order';
import {
  MESSAGE_ROW_COLUMNS,
  type MessageInsertRow,
  type NewAttachment,
  messageRowsInsertParams,
} from './message-rows';

const rowColumns = MESSAGE_ROW_COLUMNS.map(([col]) => col).join(', ');

/**
 * The batch's messages in one INSERT of fixed text (issue 16): one array parameter per column, each cast to its
 * column's type, so PostgreSQL can keep it prepared whatever the batch size. Rows are inserted in the arrays' order
 * (WITH ORDINALITY): seq, the SYN-6 tie-break, must follow the batch. A row already recorded is left alone (ON
 * CONFLICT, as the single path) and only new rows come back.
 */
const INSERT_MESSAGES = `INSERT INTO conversations.messages (${rowColumns}, created_at, updated_at)
  SELECT ${MESSAGE_ROW_COLUMNS.map(([col]) => `r.${col}`).join(', ')}, now(), now()
  FROM unnest(${MESSAGE_ROW_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
    WITH ORDINALITY AS r(${rowColumns}, ord)
  ORDER BY r.ord
  ON CONFLICT DO NOTHING RETURNING message_id`;

/** What a new message needs to be placed after its parent and before its replies (SYN-6). */
export interface ThreadQuery {
  readonly locationId: string;
  readonly conversationId: string;
  readonly messageId: string;
  readonly inReplyTo: string | null;
  readonly rfcMessageId: string | null;
}

/** The recorded neighbours of a new message: the first message it replies to, its earliest recorded reply. */
export interface ThreadNeighbours {
  readonly parent?: SortKey;
  readonly firstReply?: SortKey;
}

/** One statement for all the attachments of one message or of a whole batch. */
export async function insertAttachments(tx: EntityManager, rows: readonly NewAttachment[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof NewAttachment>(k: K) => rows.map((r) => r[k]);
  await tx.query(
    `INSERT INTO conversations.attachments
       (location_id, attachment_id, message_id, position, filename, content_type, detected_kind, size, object_key,
        sha256, content_id, inline, omitted_reason)
     SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::int[], $5::text[], $6::text[], $7::text[],
                          $8::bigint[], $9::text[], $10::text[], $11::text[], $12::boolean[], $13::text[])`,
    [
      col('locationId'),
      col('attachmentId'),
      col('messageId'),
      col('position'),
      col('filename'),
      col('contentType'),
      col('detectedKind'),
      col('size'),
      col('objectKey'),
      col('sha256'),
      col('contentId'),
      col('inline'),
      col('omittedReason'),
    ],
  );
}

@Injectable()
export class MessagesBatchRepository {
  /**
   * Every recorded message that may be the same as one of a batch (SYN-5), locked like findSame locks its
   * candidates, in recording order: one lookup on the batch's locations, conversations and ids, a provider message
   * id keyed with its provider as findSame keys it (two providers' ids are not the same message). It may return more
   * than needed (an id of one conversation found in another); the caller keeps each message's own conversation.
   */
  lockCandidates(
    tx: EntityManager,
    ids: {
      locationIds: readonly string[];
      conversationIds: readonly string[];
      deliveryIds: readonly string[];
      providerMessages: ReadonlyArray<{ provider: string; providerMessageId: string }>;
      rfcMessageIds: readonly string[];
    },
  ): Promise<MessageEntity[]> {
    return tx
      .getRepository(MessageEntity)
      .createQueryBuilder('m')
      .setLock('pessimistic_write')
      .where('m.locationId = ANY(:locationIds) AND m.conversationId = ANY(:conversationIds)', {
        locationIds: [...ids.locationIds],
        conversationIds: [...ids.conversationIds],
      })
      .andWhere(
        `(m.deliveryId = ANY(:deliveryIds)
          OR (m.provider, m.providerMessageId) IN
             (SELECT p, id FROM unnest(CAST(:providers AS text[]), CAST(:providerMessageIds AS text[])) AS u(p, id))
          OR m.rfcMessageId = ANY(:rfcMessageIds))`,
        {
          deliveryIds: [...ids.deliveryIds],
          providers: ids.providerMessages.map((k) => k.provider),
          providerMessageIds: ids.providerMessages.map((k) => k.providerMessageId),
          rfcMessageIds: [...ids.rfcMessageIds],
        },
      )
      .orderBy('m.seq', 'ASC')
      .getMany();
  }

  /**
   * placeOf's two lookups for every message of a batch in one statement, over the rows recorded before it (the
   * caller adds the batch's own earlier messages). The parent is read FOR SHARE, as placeOf reads it.
   */
  async threadNeighbours(tx: EntityManager, qs: readonly ThreadQuery[]): Promise<ThreadNeighbours[]> {
    type Row = {
      i: number;
      p_second: Date | null;
      p_received: Date | null;
      r_second: Date | null;
      r_received: Date | null;
    };
    const col = <K extends keyof ThreadQuery>(k: K) => qs.map((q) => q[k]);
    const rows: Row[] = await tx.query(
      `SELECT q.i, p.sort_second AS p_second, p.sort_received_at AS p_received,
              r.sort_second AS r_second, r.sort_received_at AS r_received
       FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[])
              WITH ORDINALITY AS q(location_id, conversation_id, message_id, in_reply_to, rfc_message_id, i)
       LEFT JOIN LATERAL (
         SELECT sort_second, sort_received_at FROM conversations.messages m
         WHERE m.location_id = q.location_id AND m.conversation_id = q.conversation_id
           AND m.rfc_message_id = q.in_reply_to AND m.message_id <> q.message_id
         ORDER BY m.seq LIMIT 1
         FOR SHARE
       ) p ON true
       LEFT JOIN LATERAL (
         SELECT sort_second, sort_received_at FROM (
           -- OFFSET 0: the replies are found by their index, then sorted. Left to itself the planner walks the whole
           -- conversation in sort order for the first reply, most often to find none (issue 16).
           SELECT sort_second, sort_received_at, seq FROM conversations.messages m
           WHERE m.location_id = q.location_id AND m.conversation_id = q.conversation_id
             AND m.in_reply_to = q.rfc_message_id AND m.message_id <> q.message_id
           OFFSET 0
         ) replies
         ORDER BY sort_second, sort_received_at, seq LIMIT 1
       ) r ON true`,
      [col('locationId'), col('conversationId'), col('messageId'), col('inReplyTo'), col('rfcMessageId')],
    );
    const out: ThreadNeighbours[] = qs.map(() => ({}));
    for (const r of rows) {
      out[Number(r.i) - 1] = {
        ...(r.p_second && r.p_received ? { parent: { second: r.p_second, receivedAt: r.p_received } } : {}),
        ...(r.r_second && r.r_received
          ? { firstReply: { second: r.r_second, receivedAt: r.r_received } }
          : {}),
      };
    }
    return out;
  }

  /**
   * One INSERT of fixed text for the batch's new messages, whatever their number (INSERT_MESSAGES); a row already
   * recorded is left alone. Answers the ids inserted.
   */
  async insertMessages(tx: EntityManager, rows: readonly MessageInsertRow[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    // Prepared: its text never changes, its plan is a scan of the arrays and the ON CONFLICT index probes.
    const inserted = await queryPrepared<Array<{ message_id: string }>>(
      tx,
      INSERT_MESSAGES,
      messageRowsInsertParams(rows),
    );
    return new Set(inserted.map((r) => r.message_id));
  }
}
