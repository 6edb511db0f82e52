// A message's place in its conversation's listing (SYN-6): where a new message goes (after its parent, before its
// replies) and how a CRM send moves as what is learnt about it arrives. Used by MessagesRepository inside its
// transactions.
import type { EntityManager } from 'typeorm';
import type { MessageEntity } from './message.entity';
import { type SortKey, placeInThread, sameSortKey, sortKeyOf } from './message-order';

/**
 * A message's place (SYN-6): its own key, kept after the message it replies to and before its replies already
 * recorded in the conversation (In-Reply-To; both lookups are indexed). The parent row is read FOR SHARE so a
 * concurrent move of that parent (a CRM send being sent) is seen, not raced.
 */
export async function placeOf(
  tx: EntityManager,
  m: Pick<MessageEntity, 'locationId' | 'conversationId' | 'messageId' | 'inReplyTo' | 'rfcMessageId'>,
  own: SortKey,
): Promise<SortKey> {
  type KeyRow = { sort_second: Date; sort_received_at: Date };
  const toKey = (r: KeyRow | undefined): SortKey | undefined =>
    r && { second: r.sort_second, receivedAt: r.sort_received_at };
  const [parent]: KeyRow[] = m.inReplyTo
    ? await tx.query(
        `SELECT sort_second, sort_received_at FROM conversations.messages
         WHERE location_id = $1 AND conversation_id = $2 AND rfc_message_id = $3 AND message_id <> $4
         ORDER BY seq LIMIT 1
         FOR SHARE`,
        [m.locationId, m.conversationId, m.inReplyTo, m.messageId],
      )
    : [];
  const [firstReply]: KeyRow[] = m.rfcMessageId
    ? await tx.query(
        // OFFSET 0: by the replies' index, not a walk of the conversation in sort order (as threadNeighbours).
        `SELECT sort_second, sort_received_at FROM (
           SELECT sort_second, sort_received_at, seq FROM conversations.messages
           WHERE location_id = $1 AND conversation_id = $2 AND in_reply_to = $3 AND message_id <> $4
           OFFSET 0
         ) replies
         ORDER BY sort_second, sort_received_at, seq LIMIT 1`,
        [m.locationId, m.conversationId, m.rfcMessageId, m.messageId],
      )
    : [];
  return placeInThread(own, { parent: toKey(parent), firstReply: toKey(firstReply) });
}

/**
 * A CRM send's place follows what is learnt about it (SYN-6): its provider sentAt once sent, when the mailbox
 * received it once its Sent copy is seen. Synced messages never move (their key only depends on what they came with).
 */
export async function repositionCrmSend(
  tx: EntityManager,
  locationId: string,
  messageId: string,
): Promise<void> {
  const [row]: Array<{
    conversation_id: string;
    sort_at: Date;
    sent_at: Date | null;
    received_at: Date | null;
    in_reply_to: string | null;
    rfc_message_id: string | null;
    sort_second: Date;
    sort_received_at: Date;
  }> = await tx.query(
    `SELECT conversation_id, sort_at, sent_at, received_at, in_reply_to, rfc_message_id, sort_second,
            sort_received_at
     FROM conversations.messages WHERE location_id = $1 AND message_id = $2 AND source = 'crm'`,
    [locationId, messageId],
  );
  if (!row) return;
  const key = await placeOf(
    tx,
    {
      locationId,
      conversationId: row.conversation_id,
      messageId,
      inReplyTo: row.in_reply_to,
      rfcMessageId: row.rfc_message_id,
    },
    sortKeyOf({ sortAt: row.sort_at, sentAt: row.sent_at, receivedAt: row.received_at }),
  );
  if (sameSortKey(key, { second: row.sort_second, receivedAt: row.sort_received_at })) return;
  await tx.query(
    `UPDATE conversations.messages SET sort_second = $3, sort_received_at = $4
     WHERE location_id = $1 AND message_id = $2`,
    [locationId, messageId, key.second, key.receivedAt],
  );
}
