// SYN-5's "is this the same message?", as a pure decision over rows already read: the single path asks it of the
// rows findSame locked, the batch path of the rows its one lookup locked plus the rows the batch is about to insert.
import { sameEmail, type EmailIdentityParts } from '@mailbridge/domain-mail';
import type { MessageEntity } from './message.entity';
import type { MessageIdentity } from './message-rows';

/** What the decision reads of a recorded (or about to be recorded) message. */
export type SameCandidate = Pick<
  MessageEntity,
  'deliveryId' | 'provider' | 'providerMessageId' | 'rfcMessageId' | 'source' | 'from' | 'sentAt' | 'subject'
>;

/** How a synced message identifies itself (its Message-ID already normalized). */
export type SyncedIdentity = MessageIdentity & Omit<EmailIdentityParts, 'rfcMessageId'>;

/**
 * Among a conversation's candidates in recording order: the first that is the same message (same delivery, same
 * provider message, or the same Message-ID on the same email or on our own CRM send), and whether another one only
 * reuses the Message-ID (loss path 5: another email, never merged).
 */
export function findSameAmong<C extends SameCandidate>(
  candidates: readonly C[],
  id: SyncedIdentity,
): { existing: C | null; reusedMessageId: boolean } {
  const rfcMessageId = id.rfcMessageId ?? null;
  const existing =
    candidates.find(
      (m) =>
        (!!id.deliveryId && m.deliveryId === id.deliveryId) ||
        (!!id.provider &&
          !!id.providerMessageId &&
          m.provider === id.provider &&
          m.providerMessageId === id.providerMessageId) ||
        (!!rfcMessageId &&
          m.rfcMessageId === rfcMessageId &&
          (m.source === 'crm' || sameEmail(m, { ...id, rfcMessageId }))),
    ) ?? null;
  return {
    existing,
    reusedMessageId: !existing && candidates.some((m) => !!rfcMessageId && m.rfcMessageId === rfcMessageId),
  };
}
