// Rows the message use cases insert through MessagesRepository: a message's attachment rows from the refs an event
// or a send carries (shared by the synced path and CRM sends), the row of a synced message and the pending row of a
// CRM send.
import { randomUUID } from 'node:crypto';
import type { AttachmentRef, MailboxAddress, PayloadOf, messageSyncedV1 } from '@mailbridge/contracts';
import type { MessageEntity } from './message.entity';
import { normalizeMessageId } from './message-id';
import type { NewAttachment, NewMessage } from './message-rows';

/**
 * One row per attachment, in order. A ref without an object key (its bytes were left behind) keeps why: its own
 * `omittedReason`, else `not_stored`; an omitted attachment never points at bytes.
 */
export function attachmentRowsOf(
  locationId: string,
  messageId: string,
  refs: readonly AttachmentRef[],
): NewAttachment[] {
  return refs.map((a, position) => ({
    locationId,
    attachmentId: randomUUID(),
    messageId,
    position,
    filename: a.filename,
    contentType: a.contentType,
    detectedKind: a.detectedKind ?? null,
    size: a.size,
    objectKey: a.omittedReason ? null : (a.objectKey ?? null),
    sha256: a.sha256 ?? null,
    contentId: a.contentId ?? null,
    inline: a.inline ?? false,
    omittedReason: a.omittedReason ?? (a.objectKey ? null : 'not_stored'),
  }));
}

/** What a CRM send knows when it is accepted. */
export interface CrmSend {
  readonly locationId: string;
  readonly messageId: string;
  readonly conversationId: string;
  readonly contactId: string;
  readonly userId: string;
  readonly connectionId: string | null;
  /** The mailbox whose SND-4 cap counts the send, if any. */
  readonly mailboxKey: string | null;
  readonly kind: NonNullable<MessageEntity['kind']>;
  readonly from: MailboxAddress | null;
  readonly to: MailboxAddress[];
  readonly cc: MailboxAddress[];
  readonly bcc: MailboxAddress[];
  readonly subject: string;
  readonly text: string | null;
  readonly html: string | null;
  readonly at: Date;
  readonly inReplyTo: string | null;
  readonly idempotencyKey: string;
}

/** A CRM send as a pending outbound message: nothing the provider knows yet (send.succeeded fills that in). */
export function crmSendRow(send: CrmSend): NewMessage {
  return {
    locationId: send.locationId,
    messageId: send.messageId,
    conversationId: send.conversationId,
    contactId: send.contactId,
    userId: send.userId,
    connectionId: send.connectionId,
    mailboxKey: send.mailboxKey,
    kind: send.kind,
    direction: 'outbound',
    source: 'crm',
    status: 'pending',
    from: send.from,
    to: send.to,
    cc: send.cc,
    bcc: send.bcc,
    subject: send.subject,
    text: send.text,
    html: send.html,
    bodyTruncated: false,
    sortAt: send.at,
    sentAt: null,
    receivedAt: null,
    provider: null,
    providerMessageId: null,
    providerThreadId: null,
    rfcMessageId: null,
    inReplyTo: send.inReplyTo,
    references: [],
    deliveryId: null,
    rule: null,
    idempotencyKey: send.idempotencyKey,
    failureCode: null,
    failureMessage: null,
  };
}

/**
 * A synced message as a new row (both the single and the batch path). The delivery id is its id: it is deterministic
 * per (conversation, message), so a replayed log rebuilds the same ids.
 */
export function syncedMessageRow(p: PayloadOf<typeof messageSyncedV1>): NewMessage {
  const m = p.message;
  const sentAt = m.sentAt ? new Date(m.sentAt) : null;
  const receivedAt = new Date(m.receivedAt);
  return {
    locationId: p.locationId,
    messageId: p.deliveryId,
    conversationId: p.conversationId,
    contactId: p.contactId,
    userId: p.userId,
    connectionId: p.connectionId,
    mailboxKey: null,
    kind: null,
    direction: p.direction,
    source: p.source,
    status: p.direction === 'inbound' ? 'received' : 'sent',
    from: m.from,
    to: m.to,
    cc: m.cc,
    bcc: m.bcc,
    subject: m.subject,
    text: m.text,
    html: m.html,
    bodyTruncated: m.bodyTruncated,
    sortAt: sentAt ?? receivedAt,
    sentAt,
    receivedAt,
    provider: m.provider,
    providerMessageId: m.providerMessageId,
    providerThreadId: m.providerThreadId,
    rfcMessageId: normalizeMessageId(m.rfcMessageId),
    inReplyTo: normalizeMessageId(m.inReplyTo),
    references: m.references,
    deliveryId: p.deliveryId,
    rule: p.rule,
    idempotencyKey: null,
    failureCode: null,
    failureMessage: null,
  };
}
