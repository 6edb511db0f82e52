import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { StoredBounce } from './message.entity';

export interface CrmSendRow {
  readonly messageId: string;
  readonly conversationId: string;
  readonly contactId: string;
  readonly status: string;
}

/** SYN-9 reads and writes on conversations.messages: classification, the CRM send a reply or a bounce answers. */
@Injectable()
export class MessageActivityRepository {
  async setClassification(
    tx: EntityManager,
    locationId: string,
    messageId: string,
    classification: string,
  ): Promise<void> {
    await tx.query(
      `UPDATE conversations.messages SET classification = $3 WHERE location_id = $1 AND message_id = $2`,
      [locationId, messageId, classification],
    );
  }

  /**
   * The CRM send of this conversation that a message answers: one whose Message-ID it names (In-Reply-To,
   * References), else one of the same provider thread in the same mailbox connection. The latest such send wins.
   */
  async crmSendAnswered(
    tx: EntityManager,
    locationId: string,
    conversationId: string,
    m: { replyIds: readonly string[]; providerThreadId: string | null; connectionId: string | null },
  ): Promise<string | null> {
    const rows: Array<{ message_id: string }> = await tx.query(
      `SELECT message_id FROM conversations.messages
       WHERE location_id = $1 AND conversation_id = $2 AND source = 'crm' AND status <> 'failed'
         AND (rfc_message_id = ANY($3::text[])
              OR ($4::text IS NOT NULL AND provider_thread_id = $4 AND connection_id IS NOT DISTINCT FROM $5::uuid))
       ORDER BY COALESCE(rfc_message_id = ANY($3::text[]), false) DESC, seq DESC
       LIMIT 1`,
      [locationId, conversationId, [...m.replyIds], m.providerThreadId, m.connectionId],
    );
    return rows[0]?.message_id ?? null;
  }

  /**
   * crmSendAnswered for several messages in one statement (the batch path, issue 16): the answer of each, in the
   * order asked.
   */
  async crmSendsAnswered(
    tx: EntityManager,
    qs: ReadonlyArray<{
      locationId: string;
      conversationId: string;
      replyIds: readonly string[];
      providerThreadId: string | null;
      connectionId: string | null;
    }>,
  ): Promise<Array<string | null>> {
    if (qs.length === 0) return [];
    const rows: Array<{ i: number; message_id: string | null }> = await tx.query(
      `SELECT q.i, a.message_id
       FROM jsonb_to_recordset($1::jsonb)
              AS q(i int, location_id text, conversation_id uuid, reply_ids text[], thread_id text, connection_id uuid)
       LEFT JOIN LATERAL (
         SELECT message_id FROM conversations.messages
         WHERE location_id = q.location_id AND conversation_id = q.conversation_id AND source = 'crm'
           AND status <> 'failed'
           AND (rfc_message_id = ANY(q.reply_ids)
                OR (q.thread_id IS NOT NULL AND provider_thread_id = q.thread_id
                    AND connection_id IS NOT DISTINCT FROM q.connection_id))
         ORDER BY COALESCE(rfc_message_id = ANY(q.reply_ids), false) DESC, seq DESC
         LIMIT 1
       ) a ON true`,
      [
        JSON.stringify(
          qs.map((q, i) => ({
            i,
            location_id: q.locationId,
            conversation_id: q.conversationId,
            reply_ids: q.replyIds,
            thread_id: q.providerThreadId,
            connection_id: q.connectionId,
          })),
        ),
      ],
    );
    const out: Array<string | null> = qs.map(() => null);
    for (const r of rows) out[Number(r.i)] = r.message_id;
    return out;
  }

  /** The CRM send carrying this Message-ID in the location (its conversation first), locked. */
  async lockCrmSendByMessageId(
    tx: EntityManager,
    locationId: string,
    conversationId: string,
    rfcMessageId: string,
  ): Promise<CrmSendRow | null> {
    const rows: Array<{ message_id: string; conversation_id: string; contact_id: string; status: string }> =
      await tx.query(
        `SELECT message_id, conversation_id, contact_id, status FROM conversations.messages
         WHERE location_id = $1 AND source = 'crm' AND rfc_message_id = $2
         ORDER BY (conversation_id = $3) DESC, seq DESC
         LIMIT 1
         FOR UPDATE`,
        [locationId, rfcMessageId, conversationId],
      );
    const r = rows[0];
    return r
      ? {
          messageId: r.message_id,
          conversationId: r.conversation_id,
          contactId: r.contact_id,
          status: r.status,
        }
      : null;
  }

  async markBounced(
    tx: EntityManager,
    locationId: string,
    messageId: string,
    bounce: StoredBounce,
  ): Promise<void> {
    await tx.query(
      `UPDATE conversations.messages SET status = 'bounced', bounce = $3::jsonb, mailbox_key = NULL, updated_at = now()
       WHERE location_id = $1 AND message_id = $2`,
      [locationId, messageId, JSON.stringify(bounce)],
    );
  }
}
