// Rows the message use cases insert through MessagesRepository: a message's attachment rows from the refs an event
// or a send carries (shared by the synced path and CRM sends), and the pending row of a CRM send.
import { randomUUID } from 'node:crypto';
import type { AttachmentRef, MailboxAddress } from '@mailbridge/contracts';
import type { MessageEntity } from './message.entity';
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
