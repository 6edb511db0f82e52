import { type EmailAddress, headerValue, parseAddressList, parseMessageIds } from '../shared/mime-headers';
import { extractContent, type MimeNode, parseMime } from '../shared/mime-parser';
import type { GmailMailbox, GmailMessage } from '../gmail/gmail-mailbox';
import type { GraphMailbox, GraphMessage } from '../graph/graph-mailbox';

/** A message as a test sees it: what the mailbox holds, headers included, independent of the provider. */
export interface MailView {
  /** Provider id (Gmail message id, Graph immutable id). */
  id: string;
  /** Gmail threadId or Graph conversationId. */
  threadId: string;
  /** Message-ID header, with brackets. */
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  from?: EmailAddress;
  to: EmailAddress[];
  cc: EmailAddress[];
  bcc: EmailAddress[];
  subject: string;
  date?: string;
  text?: string;
  html?: string;
  attachments: {
    filename: string;
    contentType: string;
    size: number;
    inline: boolean;
    contentBase64: string;
  }[];
  headers: { name: string; value: string }[];
  /** Gmail labels, or the Graph folder name. */
  labels: string[];
  isRead: boolean;
}

export interface MailboxView {
  provider: 'google' | 'microsoft';
  address: string;
  displayName: string;
  inbox: MailView[];
  sent: MailView[];
  drafts: MailView[];
}

function fromMime(mime: MimeNode): Omit<MailView, 'id' | 'threadId' | 'labels' | 'isRead'> {
  const h = mime.headers;
  const content = extractContent(mime);
  const date = Date.parse(headerValue(h, 'date') ?? '');
  return {
    messageId: parseMessageIds(headerValue(h, 'message-id'))[0],
    inReplyTo: parseMessageIds(headerValue(h, 'in-reply-to'))[0],
    references: parseMessageIds(headerValue(h, 'references')),
    from: parseAddressList(headerValue(h, 'from'))[0],
    to: parseAddressList(headerValue(h, 'to')),
    cc: parseAddressList(headerValue(h, 'cc')),
    bcc: parseAddressList(headerValue(h, 'bcc')),
    subject: headerValue(h, 'subject') ?? '',
    date: Number.isFinite(date) ? new Date(date).toISOString() : undefined,
    text: content.text,
    html: content.html,
    attachments: content.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      size: a.content.length,
      inline: a.inline,
      contentBase64: a.content.toString('base64'),
    })),
    headers: h,
  };
}

export function gmailMailView(m: GmailMessage): MailView {
  return {
    id: m.id,
    threadId: m.threadId,
    ...fromMime(m.mime),
    labels: [...m.labelIds],
    isRead: !m.labelIds.has('UNREAD'),
  };
}

export function graphMailView(m: GraphMessage): MailView {
  if (m.raw) {
    return {
      id: m.immutableId,
      threadId: m.conversationId,
      ...fromMime(parseMime(m.raw)),
      labels: [m.folder],
      isRead: m.isRead,
    };
  }
  const addr = (r: { emailAddress: { name: string; address: string } }) => ({
    name: r.emailAddress.name,
    address: r.emailAddress.address,
  });
  return {
    id: m.immutableId,
    threadId: m.conversationId,
    messageId: m.internetMessageId,
    inReplyTo: m.inReplyTo,
    references: m.references,
    from: m.from ? addr(m.from) : undefined,
    to: m.toRecipients.map(addr),
    cc: m.ccRecipients.map(addr),
    bcc: m.bccRecipients.map(addr),
    subject: m.subject,
    date: m.sentDateTime ? new Date(m.sentDateTime).toISOString() : undefined,
    ...(m.body.contentType === 'html' ? { html: m.body.content } : { text: m.body.content }),
    attachments: m.attachments.map((a) => ({
      filename: a.name,
      contentType: a.contentType,
      size: a.size,
      inline: a.isInline,
      contentBase64: a.content.toString('base64'),
    })),
    headers: m.internetMessageHeaders,
    labels: [m.folder],
    isRead: m.isRead,
  };
}

export function gmailMailboxView(mb: GmailMailbox): MailboxView {
  const all = [...mb.messages.values()].sort(
    (a, b) => a.internalDate - b.internalDate || (a.id < b.id ? -1 : 1),
  );
  return {
    provider: 'google',
    address: mb.address,
    displayName: mb.displayName,
    inbox: all.filter((m) => m.labelIds.has('INBOX')).map(gmailMailView),
    sent: all.filter((m) => m.labelIds.has('SENT')).map(gmailMailView),
    drafts: all.filter((m) => m.labelIds.has('DRAFT')).map(gmailMailView),
  };
}

export function graphMailboxView(mb: GraphMailbox): MailboxView {
  const all = [...mb.messages.values()].sort(
    (a, b) => a.receivedDateTime - b.receivedDateTime || a.seq - b.seq,
  );
  return {
    provider: 'microsoft',
    address: mb.address,
    displayName: mb.displayName,
    inbox: all.filter((m) => m.folder === 'inbox').map(graphMailView),
    sent: all.filter((m) => m.folder === 'sentitems').map(graphMailView),
    drafts: all.filter((m) => m.folder === 'drafts').map(graphMailView),
  };
}
