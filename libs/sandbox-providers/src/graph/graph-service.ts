import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';
import { composeMessage } from '../shared/mime-composer';
import {
  type EmailAddress,
  encodeWord,
  formatAddress,
  headerValue,
  parseAddressList,
  parseMessageIds,
  rewriteHeaders,
} from '../shared/mime-headers';
import { extractContent, parseMime } from '../shared/mime-parser';
import type { PostOffice } from '../shared/post-office';
import { forwardSubject, normalizeSubject, replySubject } from '../shared/subject';
import type { MicrosoftAccounts } from '../microsoft/microsoft-accounts';
import { graphError, graphErrors } from './graph-errors';
import { graphDate } from './graph-json';
import {
  type FolderName,
  type GraphAttachment,
  type GraphEmailAddress,
  GraphMailbox,
  type GraphMessage,
} from './graph-mailbox';

export interface GraphRecipientInput {
  emailAddress?: { address?: string; name?: string };
}

export interface GraphAttachmentInput {
  '@odata.type'?: string;
  name?: string;
  contentType?: string;
  contentBytes?: string;
  isInline?: boolean;
  contentId?: string;
}

export interface GraphMessageInput {
  subject?: string;
  body?: { contentType?: string; content?: string };
  toRecipients?: GraphRecipientInput[];
  ccRecipients?: GraphRecipientInput[];
  bccRecipients?: GraphRecipientInput[];
  replyTo?: GraphRecipientInput[];
  attachments?: GraphAttachmentInput[];
  internetMessageHeaders?: { name?: string; value?: string }[];
  importance?: 'low' | 'normal' | 'high';
  isDeliveryReceiptRequested?: boolean;
  isReadReceiptRequested?: boolean;
  isRead?: boolean;
  categories?: string[];
  flag?: { flagStatus?: 'notFlagged' | 'flagged' | 'complete' };
  /** Send as one of the user's proxy addresses (checked when sent: ErrorSendAsDenied otherwise). */
  from?: GraphRecipientInput;
}

export const INLINE_ATTACHMENT_LIMIT_BYTES = 3 * 1024 * 1024;
const MAX_RECIPIENTS = 500;
const EMAIL = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

export type ReplyKind = 'reply' | 'replyAll' | 'forward';

/** Mailboxes of the Graph emulator and Exchange's behaviour for drafts, replies, sending and receiving. */
export class GraphService {
  private readonly mailboxes = new Map<string, GraphMailbox>();
  private readonly listeners: ((mailbox: GraphMailbox) => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly ids: IdFactory,
    private readonly postOffice: PostOffice,
    private readonly accounts: MicrosoftAccounts,
  ) {}

  /** Called for every new mailbox (subscriptions hook their change listeners here). */
  onMailbox(listener: (mailbox: GraphMailbox) => void): void {
    this.listeners.push(listener);
  }

  createMailbox(address: string, displayName?: string): GraphMailbox {
    const existing = this.get(address);
    if (existing) return existing;
    const taken = this.postOffice.lookup(address);
    if (taken) throw new Error(`${address} is already a ${taken.provider} sandbox mailbox`);
    const account = this.accounts.addAccount(address, displayName);
    const mailbox = new GraphMailbox(
      address,
      account.displayName,
      account.oid,
      account.tid,
      this.clock,
      this.ids,
    );
    this.postOffice.register({
      provider: 'microsoft',
      address,
      receive: (raw) => {
        this.receive(mailbox, raw);
      },
    });
    this.mailboxes.set(address.toLowerCase(), mailbox);
    for (const l of this.listeners) l(mailbox);
    return mailbox;
  }

  get(address: string): GraphMailbox | undefined {
    return this.mailboxes.get(address.toLowerCase());
  }

  byOid(oid: string): GraphMailbox | undefined {
    // Asked on every API call: an index, filled on first use (mailboxes are only ever added, `oid` never changes).
    const hit = this.oidIndex.get(oid);
    if (hit) return hit;
    const found = [...this.mailboxes.values()].find((m) => m.oid === oid);
    if (found) this.oidIndex.set(oid, found);
    return found;
  }
  private readonly oidIndex = new Map<string, GraphMailbox>();

  list(): GraphMailbox[] {
    return [...this.mailboxes.values()];
  }

  private recipients(list: GraphRecipientInput[] | undefined, field: string): GraphEmailAddress[] {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw graphErrors.badRequest(`Invalid value for property '${field}'.`);
    return list.map((r) => {
      const address = r.emailAddress?.address?.trim() ?? '';
      if (!EMAIL.test(address)) {
        throw graphError(
          400,
          'ErrorInvalidRecipients',
          `At least one recipient is not valid., Recipient '${address}' is not resolved. All recipients must be resolved before a message can be submitted.`,
        );
      }
      const known = this.accounts.account(address);
      return { emailAddress: { name: r.emailAddress?.name ?? known?.displayName ?? address, address } };
    });
  }

  private attachments(list: GraphAttachmentInput[] | undefined): GraphAttachment[] {
    return (list ?? []).map((a) => {
      if (a['@odata.type'] && !/fileAttachment$/i.test(a['@odata.type'])) {
        throw graphErrors.invalidRequest(
          `Attachment type ${a['@odata.type']} is not supported by the sandbox.`,
        );
      }
      const content = Buffer.from(a.contentBytes ?? '', 'base64');
      if (content.length > INLINE_ATTACHMENT_LIMIT_BYTES) {
        throw graphError(
          413,
          'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
          'The attachment is larger than 3 MB; add it with an upload session (attachments/createUploadSession).',
        );
      }
      return this.newAttachment(
        a.name ?? 'attachment',
        a.contentType ?? 'application/octet-stream',
        content,
        !!a.isInline,
        a.contentId,
      );
    });
  }

  newAttachment(
    name: string,
    contentType: string,
    content: Buffer,
    isInline: boolean,
    contentId?: string,
  ): GraphAttachment {
    return {
      id: `AAMkAG${this.ids.base64url(90)}BEgAQA${this.ids.base64url(12)}=`,
      name,
      contentType,
      size: content.length,
      isInline,
      contentId,
      content,
      lastModifiedDateTime: graphDate(this.clock.now()) ?? '',
    };
  }

  /** Only `x-` names may be set through `internetMessageHeaders`. */
  private customHeaders(
    list: GraphMessageInput['internetMessageHeaders'],
  ): { name: string; value: string }[] {
    return (list ?? []).map((h) => {
      const name = h.name ?? '';
      if (!/^x-/i.test(name)) {
        throw graphError(
          400,
          'InvalidInternetMessageHeader',
          `The internet message header name '${name}' should start with 'x-' or 'X-'.`,
        );
      }
      return { name, value: h.value ?? '' };
    });
  }

  private checkRecipientCount(
    m: Pick<GraphMessage, 'toRecipients' | 'ccRecipients' | 'bccRecipients'>,
  ): void {
    const n = m.toRecipients.length + m.ccRecipients.length + m.bccRecipients.length;
    if (n > MAX_RECIPIENTS) {
      throw graphError(
        400,
        'ErrorTooManyRecipients',
        `The message has ${n} recipients; the limit is ${MAX_RECIPIENTS}.`,
      );
    }
  }

  /** A draft's `from`: as asked (checked when sent), else the mailbox itself. */
  private fromFor(mailbox: GraphMailbox, from: GraphRecipientInput | undefined): GraphEmailAddress {
    const address = from?.emailAddress?.address;
    if (!address) return this.self(mailbox);
    return { emailAddress: { name: from?.emailAddress?.name ?? mailbox.displayName, address } };
  }

  private self(mailbox: GraphMailbox): GraphEmailAddress {
    return { emailAddress: { name: mailbox.displayName, address: mailbox.address } };
  }

  /** `POST /me/messages`: a draft in Drafts with its internetMessageId and a new conversation. */
  createDraft(mailbox: GraphMailbox, input: GraphMessageInput): GraphMessage {
    const now = this.clock.now();
    const conversation = mailbox.newConversation();
    const draft = mailbox.add({
      immutableId: mailbox.newImmutableId(),
      restId: mailbox.newRestId(),
      folder: 'drafts',
      createdDateTime: now,
      lastModifiedDateTime: now,
      receivedDateTime: now,
      changeKey: mailbox.newChangeKey(),
      categories: input.categories ?? [],
      subject: input.subject ?? '',
      body: {
        contentType: (input.body?.contentType ?? 'text').toLowerCase() === 'html' ? 'html' : 'text',
        content: input.body?.content ?? '',
      },
      importance: input.importance ?? 'normal',
      from: this.fromFor(mailbox, input.from),
      sender: this.self(mailbox),
      toRecipients: this.recipients(input.toRecipients, 'toRecipients'),
      ccRecipients: this.recipients(input.ccRecipients, 'ccRecipients'),
      bccRecipients: this.recipients(input.bccRecipients, 'bccRecipients'),
      replyTo: this.recipients(input.replyTo, 'replyTo'),
      internetMessageId: mailbox.newInternetMessageId(),
      internetMessageHeaders: this.customHeaders(input.internetMessageHeaders),
      conversationId: conversation.conversationId,
      conversationIndex: conversation.conversationIndex,
      isRead: true,
      isDraft: true,
      isDeliveryReceiptRequested: input.isDeliveryReceiptRequested ?? false,
      isReadReceiptRequested: input.isReadReceiptRequested ?? false,
      flag: { flagStatus: input.flag?.flagStatus ?? 'notFlagged' },
      attachments: this.attachments(input.attachments),
      references: [],
    });
    this.checkRecipientCount(draft);
    return draft;
  }

  /** `PATCH /me/messages/{id}`: drafts take any writable property; sent/received mail only flags and read state. */
  update(mailbox: GraphMailbox, m: GraphMessage, input: GraphMessageInput): GraphMessage {
    if (input.isRead !== undefined) m.isRead = !!input.isRead;
    if (input.categories) m.categories = input.categories;
    if (input.flag?.flagStatus) m.flag = { flagStatus: input.flag.flagStatus };
    if (input.importance) m.importance = input.importance;
    const draftOnly = [
      'subject',
      'body',
      'toRecipients',
      'ccRecipients',
      'bccRecipients',
      'replyTo',
      'internetMessageHeaders',
    ] as const;
    if (draftOnly.some((k) => input[k] !== undefined)) {
      if (!m.isDraft)
        throw graphError(
          400,
          'ErrorInvalidPropertyUpdateSentMessage',
          'Update operation is invalid for property of a sent message.',
        );
      if (input.subject !== undefined) m.subject = input.subject;
      if (input.body) {
        m.body = {
          contentType:
            (input.body.contentType ?? m.body.contentType).toLowerCase() === 'html' ? 'html' : 'text',
          content: input.body.content ?? '',
        };
      }
      if (input.toRecipients) m.toRecipients = this.recipients(input.toRecipients, 'toRecipients');
      if (input.ccRecipients) m.ccRecipients = this.recipients(input.ccRecipients, 'ccRecipients');
      if (input.bccRecipients) m.bccRecipients = this.recipients(input.bccRecipients, 'bccRecipients');
      if (input.replyTo) m.replyTo = this.recipients(input.replyTo, 'replyTo');
      if (input.internetMessageHeaders)
        m.internetMessageHeaders = this.customHeaders(input.internetMessageHeaders);
      this.checkRecipientCount(m);
    }
    mailbox.touch(m);
    return m;
  }

  /** `createReply` / `createReplyAll` / `createForward`: a draft in the original's conversation with thread headers. */
  createReply(
    mailbox: GraphMailbox,
    original: GraphMessage,
    kind: ReplyKind,
    input: { comment?: string; message?: GraphMessageInput; toRecipients?: GraphRecipientInput[] },
  ): GraphMessage {
    if (input.comment !== undefined && input.message?.body !== undefined) {
      throw graphErrors.invalidRequest(
        "The 'Comment' parameter cannot be used together with the message 'Body' parameter.",
      );
    }
    const selfAddress = mailbox.address.toLowerCase();
    const notSelf = (r: GraphEmailAddress) => r.emailAddress.address.toLowerCase() !== selfAddress;
    const ownMessage =
      original.folder === 'sentitems' || original.from?.emailAddress.address.toLowerCase() === selfAddress;
    let to: GraphEmailAddress[] = [];
    let cc: GraphEmailAddress[] = [];
    if (kind !== 'forward') {
      const primary = ownMessage
        ? original.toRecipients
        : original.replyTo.length > 0
          ? original.replyTo
          : original.from
            ? [original.from]
            : [];
      to = [...primary];
      if (kind === 'replyAll') {
        to = [...to, ...original.toRecipients.filter(notSelf)];
        cc = original.ccRecipients.filter(notSelf);
      }
      const seen = new Set<string>();
      to = to.filter(
        (r) =>
          !seen.has(r.emailAddress.address.toLowerCase()) && !!seen.add(r.emailAddress.address.toLowerCase()),
      );
    }
    const quoted = this.quote(original);
    const comment = input.comment ?? '';
    const body =
      input.message?.body !== undefined
        ? { contentType: input.message.body.contentType ?? 'html', content: input.message.body.content ?? '' }
        : {
            contentType: 'html',
            content: `<html><body><div>${escapeHtml(comment)}</div>${quoted}</body></html>`,
          };
    const draft = this.createDraft(mailbox, {
      ...input.message,
      subject:
        input.message?.subject ??
        (kind === 'forward'
          ? forwardSubject(original.subject, 'FW:')
          : replySubject(original.subject, 'RE:')),
      body,
      toRecipients: input.message?.toRecipients ?? input.toRecipients ?? (to as GraphRecipientInput[]),
      ccRecipients: input.message?.ccRecipients ?? (cc as GraphRecipientInput[]),
      attachments: input.message?.attachments,
    });
    if (kind === 'forward')
      draft.attachments.push(
        ...original.attachments.map((a) => ({
          ...a,
          id: this.newAttachment(a.name, a.contentType, a.content, a.isInline, a.contentId).id,
        })),
      );
    draft.conversationId = original.conversationId;
    draft.conversationIndex = mailbox.childIndex(original.conversationIndex);
    draft.inReplyTo = original.internetMessageId;
    draft.references = [
      ...original.references.filter((r) => r !== original.internetMessageId),
      original.internetMessageId,
    ];
    return draft;
  }

  private quote(original: GraphMessage): string {
    const from = original.from
      ? formatAddress({ name: original.from.emailAddress.name, address: original.from.emailAddress.address })
      : '';
    const originalHtml =
      original.body.contentType === 'html'
        ? original.body.content.replace(/^[\s\S]*<body[^>]*>|<\/body>[\s\S]*$/gi, '')
        : `<pre>${escapeHtml(original.body.content)}</pre>`;
    return (
      `<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg"><b>From:</b> ${escapeHtml(from)}<br>` +
      `<b>Sent:</b> ${new Date(original.sentDateTime ?? original.receivedDateTime).toUTCString()}<br>` +
      `<b>Subject:</b> ${escapeHtml(original.subject)}</div><div>${originalHtml}</div>`
    );
  }

  /** `POST /messages/{id}/send`: the draft becomes a sent item (its REST id changes) and is delivered. */
  async sendDraft(mailbox: GraphMailbox, draft: GraphMessage, saveToSentItems = true): Promise<void> {
    if (!draft.isDraft) throw graphError(400, 'ErrorInvalidOperation', 'Only draft messages can be sent.');
    const fromAddress = draft.from?.emailAddress.address ?? mailbox.address;
    if (!mailbox.sendAsAddress(fromAddress)) {
      throw graphError(
        403,
        'ErrorSendAsDenied',
        'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.',
      );
    }
    if (draft.toRecipients.length + draft.ccRecipients.length + draft.bccRecipients.length === 0) {
      throw graphError(
        400,
        'ErrorInvalidRecipients',
        "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
      );
    }
    const now = this.clock.now();
    draft.isDraft = false;
    draft.sentDateTime = now;
    draft.receivedDateTime = now;
    draft.raw = await this.toMime(mailbox, draft);
    draft.internetMessageHeaders = parseMime(draft.raw).headers.filter((h) => h.name.toLowerCase() !== 'bcc');
    if (saveToSentItems) mailbox.move(draft, 'sentitems');
    else mailbox.remove(draft);
    await this.postOffice.dispatch(draft.raw, {
      from: mailbox.address,
      recipients: [...draft.toRecipients, ...draft.ccRecipients, ...draft.bccRecipients].map(
        (r) => r.emailAddress.address,
      ),
    });
  }

  async sendMail(mailbox: GraphMailbox, input: GraphMessageInput, saveToSentItems: boolean): Promise<void> {
    const draft = this.createDraft(mailbox, input);
    await this.sendDraft(mailbox, draft, saveToSentItems);
  }

  /** MIME `sendMail`: the message goes out as written (From forced to the mailbox) and a copy lands in Sent Items. */
  async sendMime(mailbox: GraphMailbox, mime: Buffer, saveToSentItems: boolean): Promise<void> {
    const parsed = parseMime(mime);
    const recipients = ['to', 'cc', 'bcc'].flatMap((h) => parseAddressList(headerValue(parsed.headers, h)));
    if (recipients.length === 0)
      throw graphError(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.');
    const changes: Record<string, string> = {
      From: formatAddress({ name: mailbox.displayName, address: mailbox.address }),
    };
    if (parseMessageIds(headerValue(parsed.headers, 'message-id')).length === 0)
      changes['Message-ID'] = mailbox.newInternetMessageId();
    if (!headerValue(parsed.headers, 'date'))
      changes.Date = new Date(this.clock.now()).toUTCString().replace('GMT', '+0000');
    const raw = rewriteHeaders(mime, changes);
    if (saveToSentItems) this.store(mailbox, raw, 'sentitems');
    await this.postOffice.dispatch(raw, {
      from: mailbox.address,
      recipients: recipients.map((r) => r.address),
    });
  }

  /** Builds the RFC 822 form Exchange would send, with Thread-Index/Thread-Topic and the thread headers. */
  toMime(mailbox: GraphMailbox, m: GraphMessage): Promise<Buffer> {
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
      date: new Date(m.sentDateTime ?? this.clock.now()),
      headers,
      keepBcc: true,
    });
  }

  receive(mailbox: GraphMailbox, raw: Buffer): GraphMessage {
    return this.store(mailbox, raw, 'inbox');
  }

  /** Stores a raw message (delivered mail, or a MIME send's Sent Items copy) the way Exchange maps it. */
  store(mailbox: GraphMailbox, raw: Buffer, folder: FolderName): GraphMessage {
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
    const conversation = this.conversationOf(mailbox, headerValue(h, 'thread-index'), [
      ...references,
      ...(inReplyTo ? [inReplyTo] : []),
    ]);
    const dateHeader = Date.parse(headerValue(h, 'date') ?? '');
    const now = this.clock.now();
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
        this.newAttachment(a.filename, a.contentType, a.content, a.inline, a.contentId),
      ),
      inReplyTo,
      references,
      raw,
    });
  }

  /** Exchange's conversation: the Thread-Index GUID when present, else the conversation of a referenced message. */
  private conversationOf(mailbox: GraphMailbox, threadIndex: string | undefined, refs: string[]) {
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
}

function stripPrefixes(subject: string): string {
  const normalized = normalizeSubject(subject);
  const i = subject.toLowerCase().lastIndexOf(normalized);
  return i >= 0 ? subject.slice(i) : subject;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
