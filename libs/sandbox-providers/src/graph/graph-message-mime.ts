// MIME mapping of Graph messages: the RFC 822 form Exchange sends and how a raw message is stored as one.
import type { Clock } from '../shared/clock';
import { composeMessage } from '../shared/mime-composer';
import {
  type EmailAddress,
  encodeWord,
  headerValue,
  parseAddressList,
  parseMessageIds,
} from '../shared/mime-headers';
import { extractContent, parseMime } from '../shared/mime-parser';
import { normalizeSubject } from '../shared/subject';
import type { FolderName, GraphEmailAddress, GraphMailbox, GraphMessage } from './graph-mailbox';
import type { NewGraphAttachment } from './graph-message-input';

/** Builds the RFC 822 form Exchange would send, with Thread-Index/Thread-Topic and the thread headers. */
export function graphMessageMime(mailbox: GraphMailbox, m: GraphMessage, clock: Clock): Promise<Buffer> {
  const addr = (list: GraphEmailAddress[]): EmailAddress[] =>
    list.map((r) => ({ name: r.emailAddress.name, address: r.emailAddress.address }));
  const headers: Record<string, string> = {
    'Thread-Topic': encodeWord(stripPrefixes(m.subject)),
    'Thread-Index': m.conversationIndex.toString('base64'),
    'X-MS-Has-Attach': m.attachments.some((a) => !a.isInline) ? 'yes' : '',
  };
  for (const h of m.internetMessageHeaders) if (/^x-/i.test(h.name)) headers[h.name] = h.value;
  if (m.importance !== 'normal') headers.Importance = m.importance;
  return composeMessage({
    from: {
      name: m.from?.emailAddress.name ?? mailbox.displayName,
      address: (m.from && mailbox.sendAsAddress(m.from.emailAddress.address)) ?? mailbox.address,
    },
    to: addr(m.toRecipients),
    cc: addr(m.ccRecipients),
    bcc: addr(m.bccRecipients),
    replyTo: addr(m.replyTo),
    subject: m.subject,
    ...(m.body.contentType === 'html' ? { html: m.body.content } : { text: m.body.content }),
    attachments: m.attachments.map((a) => ({
      filename: a.name,
      contentType: a.contentType,
      content: a.content,
      contentId: a.isInline ? a.contentId : undefined,
    })),
    messageId: m.internetMessageId,
    inReplyTo: m.inReplyTo,
    references: m.references,
    date: new Date(m.sentDateTime ?? clock.now()),
    headers,
    keepBcc: true,
  });
}

/** Stores a raw message (delivered mail, or a MIME send's Sent Items copy) the way Exchange maps it. */
export function storeGraphMessage(
  mailbox: GraphMailbox,
  raw: Buffer,
  folder: FolderName,
  clock: Clock,
  newAttachment: NewGraphAttachment,
): GraphMessage {
  const mime = parseMime(raw);
  const h = mime.headers;
  const content = extractContent(mime);
  const list = (name: string): GraphEmailAddress[] =>
    parseAddressList(headerValue(h, name)).map((a) => ({
      emailAddress: { name: a.name || a.address, address: a.address },
    }));
  const from = list('from')[0];
  const references = parseMessageIds(headerValue(h, 'references'));
  const inReplyTo = parseMessageIds(headerValue(h, 'in-reply-to'))[0];
  const conversation = conversationOf(mailbox, headerValue(h, 'thread-index'), [
    ...references,
    ...(inReplyTo ? [inReplyTo] : []),
  ]);
  const dateHeader = Date.parse(headerValue(h, 'date') ?? '');
  const now = clock.now();
  return mailbox.add({
    immutableId: mailbox.newImmutableId(),
    restId: mailbox.newRestId(),
    folder,
    createdDateTime: now,
    lastModifiedDateTime: now,
    receivedDateTime: now,
    sentDateTime: Number.isFinite(dateHeader) ? dateHeader : now,
    changeKey: mailbox.newChangeKey(),
    categories: [],
    subject: headerValue(h, 'subject') ?? '',
    body:
      content.html !== undefined
        ? { contentType: 'html', content: content.html }
        : { contentType: 'text', content: content.text ?? '' },
    importance: (headerValue(h, 'importance') ?? 'normal').toLowerCase() as GraphMessage['importance'],
    from,
    sender: list('sender')[0] ?? from,
    toRecipients: list('to'),
    ccRecipients: list('cc'),
    bccRecipients: list('bcc'),
    replyTo: list('reply-to'),
    internetMessageId: parseMessageIds(headerValue(h, 'message-id'))[0] ?? mailbox.newInternetMessageId(),
    internetMessageHeaders: h.map((x) => ({ name: x.name, value: x.value })),
    conversationId: conversation.conversationId,
    conversationIndex: conversation.conversationIndex,
    isRead: folder !== 'inbox',
    isDraft: false,
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: !!headerValue(h, 'disposition-notification-to'),
    flag: { flagStatus: 'notFlagged' },
    attachments: content.attachments.map((a) =>
      newAttachment(a.filename, a.contentType, a.content, a.inline, a.contentId),
    ),
    inReplyTo,
    references,
    raw,
  });
}

/** Exchange's conversation: the Thread-Index GUID when present, else the conversation of a referenced message. */
function conversationOf(mailbox: GraphMailbox, threadIndex: string | undefined, refs: string[]) {
  const index = threadIndex ? Buffer.from(threadIndex, 'base64') : undefined;
  if (index && index.length >= 22) {
    return { conversationId: mailbox.conversationIdFor(index.subarray(6, 22)), conversationIndex: index };
  }
  for (const ref of [...refs].reverse()) {
    const parent = mailbox.byInternetMessageId(ref);
    if (parent)
      return {
        conversationId: parent.conversationId,
        conversationIndex: mailbox.childIndex(parent.conversationIndex),
      };
  }
  return mailbox.newConversation();
}

function stripPrefixes(subject: string): string {
  const normalized = normalizeSubject(subject);
  const i = subject.toLowerCase().lastIndexOf(normalized);
  return i >= 0 ? subject.slice(i) : subject;
}
