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

const WORDS = /^[A-Za-z0-9_]+(?: [A-Za-z0-9_]+)*$/;
// MailComposer lowercases domains: only lowercase ones are written as given.
const ADDRESS = /^[A-Za-z0-9._+-]+@[a-z0-9.-]+$/;
const MESSAGE_ID = /^<[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+>$/;
const simpleAddress = (a: EmailAddress) =>
  ADDRESS.test(a.address) && (a.name === '' || (a.name.length <= 40 && WORDS.test(a.name)));
const plainAddress = (a: EmailAddress) => (a.name ? `${a.name} <${a.address}>` : a.address);
const none = (list?: readonly unknown[]) => list === undefined || list.length === 0;

/**
 * The bytes MailComposer builds for the plainest message (one line of ASCII words, ASCII addresses and subject, no
 * other part or header), written directly; undefined for anything else. MailComposer's streams cost more CPU than
 * the rest of a delivery (a bench injects thousands), and these bytes are exactly its output: the spec compares them.
 */
export function composePlainMessage(input: ComposeInput): Buffer | undefined {
  const text = input.text ?? '';
  const subject = input.subject ?? '';
  const to = input.to ?? [];
  const date = input.date ?? new Date();
  if (
    input.html !== undefined ||
    !none(input.attachments) ||
    !none(input.cc) ||
    !none(input.bcc) ||
    !none(input.replyTo) ||
    !none(input.references) ||
    input.inReplyTo !== undefined ||
    (input.headers !== undefined && Object.keys(input.headers).length > 0) ||
    text.length === 0 ||
    text.length > 70 ||
    !WORDS.test(text) ||
    subject.length === 0 ||
    subject.length > 60 ||
    !WORDS.test(subject) ||
    !simpleAddress(input.from) ||
    to.length === 0 ||
    !to.every(simpleAddress) ||
    !MESSAGE_ID.test(input.messageId) ||
    !(date.getUTCFullYear() >= 1970 && date.getUTCFullYear() <= 9999)
  )
    return undefined;
  const lines = [
    `From: ${plainAddress(input.from)}`,
    `To: ${to.map(plainAddress).join(', ')}`,
    `Subject: ${subject}`,
    `Message-ID: ${input.messageId}`,
  ];
  // MailComposer folds header lines past 76 characters: those go the long way (72 keeps a margin).
  if (lines.some((l) => l.length > 72)) return undefined;
  return Buffer.from(
    `${lines.join('\r\n')}\r\nDate: ${date.toUTCString().replace(/GMT/, '+0000')}\r\n` +
      `Content-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n` +
      `${text}\r\n`,
    'latin1',
  );
}

/** Builds a real RFC 822 message with nodemailer's MailComposer (the plainest ones directly, byte for byte the same). */
export async function composeMessage(input: ComposeInput): Promise<Buffer> {
  const plain = composePlainMessage(input);
  if (plain) return plain;
  return composeWithMailComposer(input);
}

/** nodemailer's MailComposer, for every message. */
export async function composeWithMailComposer(input: ComposeInput): Promise<Buffer> {
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
