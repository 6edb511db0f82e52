import MailComposer from 'nodemailer/lib/mail-composer';
import { type EmailAddress, formatAddress } from './mime-headers';

export interface ComposeAttachment {
  filename: string;
  contentType?: string;
  content: Buffer;
  /** Content-ID without brackets; makes the attachment inline. */
  contentId?: string;
}

export interface ComposeInput {
  from: EmailAddress;
  to?: EmailAddress[];
  cc?: EmailAddress[];
  bcc?: EmailAddress[];
  replyTo?: EmailAddress[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: ComposeAttachment[];
  /** With angle brackets. */
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  date?: Date;
  headers?: Record<string, string>;
  /** Keep the Bcc header (the sender's own copy keeps it, recipients' copies do not). */
  keepBcc?: boolean;
}

/** Builds a real RFC 822 message with nodemailer's MailComposer. */
export async function composeMessage(input: ComposeInput): Promise<Buffer> {
  const list = (a?: EmailAddress[]) => (a && a.length > 0 ? a.map(formatAddress).join(', ') : undefined);
  const node = new MailComposer({
    from: formatAddress(input.from),
    to: list(input.to),
    cc: list(input.cc),
    bcc: list(input.bcc),
    replyTo: list(input.replyTo),
    subject: input.subject ?? '',
    text: input.text ?? (input.html === undefined ? '' : undefined),
    html: input.html,
    messageId: input.messageId,
    inReplyTo: input.inReplyTo,
    references: input.references && input.references.length > 0 ? input.references.join(' ') : undefined,
    date: input.date ?? new Date(),
    headers: input.headers,
    attachments: (input.attachments ?? []).map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      cid: a.contentId,
      contentDisposition: a.contentId ? ('inline' as const) : ('attachment' as const),
    })),
  }).compile();
  node.keepBcc = input.keepBcc ?? false;
  return node.build();
}
