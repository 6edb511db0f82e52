import type { Readable } from 'node:stream';
import { composeMimeStream, type ComposeAttachment } from '@mailbridge/domain-mail';
import { MAILBRIDGE_REF_HEADER } from '../sync/message-normalizer.service';
import type { OpenAttachment, SendCommand } from './send-command';

/**
 * The RFC 822 message of a send (nodemailer's composer): our Message-ID (generated once by sync-engine, so the Sent
 * copy can be found by it, SND-6), In-Reply-To/References for replies (SND-5), `X-Mailbridge-Ref` = the send id,
 * attachments streamed from the object store.
 */
export async function composeOutgoing(
  command: SendCommand,
  from: { name?: string; address: string },
  openAttachment: OpenAttachment,
  options: { keepBcc: boolean },
): Promise<Readable> {
  const attachments: ComposeAttachment[] = [];
  for (const a of command.attachments) {
    if (!a.objectKey) continue;
    attachments.push({
      filename: a.filename,
      content: await openAttachment(a.objectKey),
      contentType: a.contentType,
      ...(a.inline && a.contentId ? { contentId: a.contentId } : {}),
    });
  }
  return composeMimeStream({
    from,
    to: command.to,
    cc: command.cc,
    bcc: command.bcc,
    subject: command.subject,
    ...(command.text !== null ? { text: command.text } : {}),
    ...(command.html !== null ? { html: command.html } : {}),
    messageId: command.rfcMessageId,
    ...(command.inReplyTo ? { inReplyTo: command.inReplyTo } : {}),
    ...(command.references.length > 0 ? { references: command.references } : {}),
    attachments,
    keepBcc: options.keepBcc,
    headers: { [MAILBRIDGE_REF_HEADER]: command.sendId },
  }).stream;
}

/** Every envelope recipient (To, Cc, Bcc), deduplicated case-insensitively. */
export function envelopeRecipients(command: SendCommand): string[] {
  const seen = new Set<string>();
  return [...command.to, ...command.cc, ...command.bcc]
    .map((a) => a.address)
    .filter((a) => !seen.has(a.toLowerCase()) && !!seen.add(a.toLowerCase()));
}
