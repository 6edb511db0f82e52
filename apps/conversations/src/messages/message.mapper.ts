import { viewOfMailboxState } from '@mailbridge/domain-mail';
import { servedContentType } from './attachment-content-type';
import type { MessageDto } from './dto/message.dto';
import type { MessageView } from './messages.service';

export function toMessageDto({ message: m, attachments }: MessageView): MessageDto {
  return {
    id: m.messageId,
    conversationId: m.conversationId,
    contactId: m.contactId,
    userId: m.userId,
    direction: m.direction,
    source: m.source,
    status: m.status,
    classification: m.classification ?? null,
    bounce: m.bounce
      ? {
          status: m.bounce.status,
          diagnostic: m.bounce.diagnostic,
          recipients: m.bounce.recipients,
          bouncedAt: m.bounce.bouncedAt,
          bounceMessageId: m.bounce.bounceMessageId,
        }
      : null,
    kind: m.kind,
    from: m.from,
    to: m.to,
    cc: m.cc,
    // Bcc is the sender's business: shown on what the user sent, never on what they received.
    ...(m.direction === 'outbound' ? { bcc: m.bcc } : {}),
    subject: m.subject,
    text: m.text,
    html: m.html,
    sentAt: m.sentAt?.toISOString() ?? null,
    receivedAt: m.receivedAt?.toISOString() ?? null,
    createdAt: m.createdAt.toISOString(),
    attachments: attachments.map((a) => ({
      id: a.attachmentId,
      filename: a.filename,
      contentType: a.objectKey ? servedContentType(a.detectedKind, a.contentType) : a.contentType,
      size: a.size,
      ...(a.omittedReason ? { omittedReason: a.omittedReason } : {}),
    })),
    provider: { name: m.provider, messageId: m.providerMessageId, threadId: m.providerThreadId },
    failure: m.failureCode ? { code: m.failureCode, message: m.failureMessage ?? '' } : null,
    mailboxState: m.mailboxState ? viewOfMailboxState(m.mailboxState) : null,
  };
}
