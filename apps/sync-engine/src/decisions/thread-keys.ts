import type { CanonicalMessage } from '@mailbridge/contracts';
import { emailFingerprint } from '@mailbridge/domain-mail';

/**
 * A thread binding is found again through keys, each scoped to one mailbox: the provider thread id (`t:`), the
 * RFC Message-IDs of the thread's messages (`m:`, what replies name) and the identities of those messages (`i:`).
 */
export const threadKey = (providerThreadId: string): string => `t:${providerThreadId}`;
export const messageKey = (rfcMessageId: string): string => `m:${rfcMessageId}`;

/**
 * Loss path 5: a message finds *itself* only by its identity, never by its Message-ID alone (broken mailers reuse
 * one id, re-sent mail keeps the original): Message-ID + sender + Date + subject (`emailFingerprint`). The copies of
 * one email (smart-BCC copy and Sent copy, push and poll) share it; another message reusing the id does not.
 */
export const identityKey = (
  message: Pick<CanonicalMessage, 'rfcMessageId' | 'from' | 'sentAt' | 'subject'>,
): string | null => (message.rfcMessageId ? `i:${message.rfcMessageId}#${emailFingerprint(message)}` : null);

/** How an observed message found its binding (the matching order, best first). */
export type MatchedBy = 'thread_id' | 'message_id' | 'in_reply_to' | 'references';

export interface LookupKey {
  readonly key: string;
  readonly matchedBy: MatchedBy;
}

/**
 * The keys to look a message up by, in the order they are trusted:
 * 1. the provider thread id (the provider's own threading);
 * 2. the message's own identity (it was bound before, e.g. by Auto-BCC; never its Message-ID alone, see identityKey);
 * 3. In-Reply-To (its direct parent);
 * 4. References, newest first (the closest ancestor wins);
 * 5. for a bounce (SYN-9), the Message-ID of the message it returns.
 * A client that broke the provider thread (Outlook after a subject change, a client that starts a new Gmail thread)
 * still lands through 3 and 4.
 */
export function lookupKeys(message: CanonicalMessage): LookupKey[] {
  const keys: LookupKey[] = [];
  const seen = new Set<string>();
  const add = (key: string, matchedBy: MatchedBy) => {
    if (seen.has(key)) return;
    seen.add(key);
    keys.push({ key, matchedBy });
  };
  if (message.providerThreadId) add(threadKey(message.providerThreadId), 'thread_id');
  const own = identityKey(message);
  if (own) add(own, 'message_id');
  if (message.inReplyTo) add(messageKey(message.inReplyTo), 'in_reply_to');
  for (const ref of [...message.references].reverse()) add(messageKey(ref), 'references');
  // SYN-9: a bounce answers the message it returns even when the mailer named it only in the attached copy
  // (Postfix, Exim, qmail write no In-Reply-To): it belongs in that message's thread, like a reply.
  if (message.bounce?.originalMessageId) add(messageKey(message.bounce.originalMessageId), 'in_reply_to');
  return keys;
}

/** The Message-IDs a message replies to (In-Reply-To, References), as keys: what ties it to earlier messages. */
export function replyKeys(message: CanonicalMessage): string[] {
  return lookupKeys(message)
    .filter((k) => k.matchedBy === 'in_reply_to' || k.matchedBy === 'references')
    .map((k) => k.key);
}

/**
 * What a message that did not sync waits for: any of its lookup keys becoming bound (its provider thread, itself, a
 * message it replies to). It is decided again then; mail older than its thread's first synced message stays private.
 */
export function parkKeys(message: CanonicalMessage): string[] {
  return lookupKeys(message).map((k) => k.key);
}

/** The keys a message contributes to its binding once it is part of the thread. */
export function ownKeys(
  message: CanonicalMessage,
): Array<{ key: string; providerMessageId: string | null; firstAt?: string }> {
  const keys: Array<{ key: string; providerMessageId: string | null; firstAt?: string }> = [];
  if (message.providerThreadId)
    keys.push({
      key: threadKey(message.providerThreadId),
      providerMessageId: null,
      firstAt: message.receivedAt,
    });
  if (message.rfcMessageId) {
    keys.push({ key: messageKey(message.rfcMessageId), providerMessageId: message.providerMessageId });
    const own = identityKey(message);
    if (own) keys.push({ key: own, providerMessageId: message.providerMessageId });
  }
  return keys;
}
