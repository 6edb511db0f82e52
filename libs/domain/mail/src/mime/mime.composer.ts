import type { Readable } from 'node:stream';
import { domainToASCII } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer';
import { addressOf, isAddrSpec, parseAddress, type AddressInput } from '../address/email-address';
import { generateMessageId, normalizeMessageId, parseMessageIds } from '../threading/message-id.util';

export interface ComposeAttachment {
  filename: string;
  /** The bytes, or a stream of them (e.g. straight from the object store). */
  content: Buffer | Readable;
  /** Content-Type to declare; derived from the file name when absent. */
  contentType?: string;
  /** Content-ID (without angle brackets) for an image the HTML references as `cid:`; makes it inline. */
  contentId?: string;
}

export interface ComposeMimeInput {
  from: AddressInput;
  sender?: AddressInput;
  replyTo?: readonly AddressInput[];
  to?: readonly AddressInput[];
  cc?: readonly AddressInput[];
  bcc?: readonly AddressInput[];
  subject: string;
  text?: string;
  html?: string;
  /** Our own Message-ID (`<id@domain>`); generated from the From domain when absent. */
  messageId?: string;
  inReplyTo?: string;
  references?: readonly string[];
  /** Defaults to now. */
  date?: Date;
  attachments?: readonly ComposeAttachment[];
  /**
   * Keep the `Bcc` header in the output. Needed for Gmail's `messages.send`, which takes the recipients from
   * the raw message's headers (and strips Bcc from what recipients see); leave it off for anything that is
   * delivered as is.
   */
  keepBcc?: boolean;
  /** Extra headers, e.g. `X-Mailbridge-Message-Id`. Names must be plain header names, values single-line. */
  headers?: Readonly<Record<string, string>>;
}

export interface ComposedMime {
  /** The RFC 822 message. */
  raw: Buffer;
  /** The Message-ID written into it. */
  messageId: string;
}

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// Headers the composer owns; setting them through `headers` would make two sources of truth.
const RESERVED_HEADERS = new Set([
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'subject',
  'message-id',
  'in-reply-to',
  'references',
  'date',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);

/** Builds the RFC 822 bytes of a message we send (nodemailer's MailComposer). */
export async function composeMime(input: ComposeMimeInput): Promise<ComposedMime> {
  const { node, messageId } = compile(input);
  return { raw: await node.build(), messageId };
}

/** Like {@link composeMime} but streamed, for large messages whose attachments come from streams. */
export function composeMimeStream(input: ComposeMimeInput): { stream: Readable; messageId: string } {
  const { node, messageId } = compile(input);
  return { stream: node.createReadStream(), messageId };
}

function compile(input: ComposeMimeInput): { node: ReturnType<MailComposer['compile']>; messageId: string } {
  const messageId =
    input.messageId === undefined
      ? generateMessageId(domainOf(addressOf(input.from)))
      : asciiMessageId(input.messageId);
  if (!messageId) throw new Error(`Invalid Message-ID "${input.messageId}"`);
  const inReplyTo = input.inReplyTo === undefined ? undefined : asciiMessageId(input.inReplyTo);
  if (input.inReplyTo !== undefined && !inReplyTo)
    throw new Error(`Invalid In-Reply-To "${input.inReplyTo}"`);
  const references = parseMessageIds(input.references ?? []).map((id) => asciiMessageId(id) ?? id);

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) {
    if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase())) {
      throw new Error(`Header "${name}" cannot be set as an extra header`);
    }
    headers[name] = singleLine(value);
  }

  const composer = new MailComposer({
    from: mailbox(input.from),
    ...(input.sender ? { sender: mailbox(input.sender) } : {}),
    ...(input.replyTo?.length ? { replyTo: input.replyTo.map(mailbox) } : {}),
    ...(input.to?.length ? { to: input.to.map(mailbox) } : {}),
    ...(input.cc?.length ? { cc: input.cc.map(mailbox) } : {}),
    ...(input.bcc?.length ? { bcc: input.bcc.map(mailbox) } : {}),
    // A CR/LF in a subject would otherwise be a header injection vector.
    subject: singleLine(input.subject),
    messageId,
    ...(inReplyTo ? { inReplyTo } : {}),
    ...(references.length > 0 ? { references } : {}),
    date: input.date ?? new Date(),
    ...(input.text !== undefined ? { text: input.text } : {}),
    ...(input.html !== undefined ? { html: input.html } : {}),
    attachments: (input.attachments ?? []).map((a) => ({
      filename: a.filename,
      content: a.content,
      ...(a.contentType ? { contentType: a.contentType } : {}),
      ...(a.contentId ? { cid: a.contentId } : {}),
    })),
    headers,
    // Never read local files or URLs named in the input.
    disableFileAccess: true,
    disableUrlAccess: true,
    newline: 'windows',
  });
  const node = composer.compile();
  node.keepBcc = input.keepBcc === true;
  return { node, messageId };
}

/** A name/address pair as nodemailer wants it; strings are parsed so `Name <addr>` works too. */
function mailbox(input: AddressInput): { name: string; address: string } {
  const parsed = typeof input === 'string' ? parseAddress(input) : input;
  if (!parsed || !isAddrSpec(parsed.address.trim())) {
    throw new Error(`Invalid address "${typeof input === 'string' ? input : input.address}"`);
  }
  return { name: parsed.name ?? '', address: parsed.address.trim() };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

function singleLine(value: string): string {
  return value.replace(/[\r\n]+\s*/g, ' ');
}

/** A Message-ID in ASCII form (an IDN right-hand side becomes punycode), or undefined when invalid. */
function asciiMessageId(value: string | undefined): string | undefined {
  const id = normalizeMessageId(value);
  if (!id) return undefined;
  const at = id.lastIndexOf('@');
  const right = id.slice(at + 1, -1);
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(id)) return id;
  const ascii = domainToASCII(right);
  const result = ascii ? `${id.slice(0, at + 1)}${ascii}>` : undefined;
  // eslint-disable-next-line no-control-regex
  return result && /^[\x00-\x7f]*$/.test(result) ? result : undefined;
}
