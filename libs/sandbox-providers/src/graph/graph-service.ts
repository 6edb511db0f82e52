import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';
import {
  formatAddress,
  headerValue,
  parseAddressList,
  parseMessageIds,
  rewriteHeaders,
} from '../shared/mime-headers';
import { parseMime } from '../shared/mime-parser';
import type { PostOffice } from '../shared/post-office';
import { forwardSubject, replySubject } from '../shared/subject';
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
import {
  checkRecipientCount,
  customHeaders,
  graphAttachments,
  type GraphMessageInput,
  graphRecipients,
  type GraphRecipientInput,
  type ReplyKind,
} from './graph-message-input';
import { graphMessageMime, storeGraphMessage } from './graph-message-mime';
import { escapeHtml, quoteOriginal, replyRecipients } from './graph-reply-compose';

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
      toRecipients: graphRecipients(this.accounts, input.toRecipients, 'toRecipients'),
      ccRecipients: graphRecipients(this.accounts, input.ccRecipients, 'ccRecipients'),
      bccRecipients: graphRecipients(this.accounts, input.bccRecipients, 'bccRecipients'),
      replyTo: graphRecipients(this.accounts, input.replyTo, 'replyTo'),
      internetMessageId: mailbox.newInternetMessageId(),
      internetMessageHeaders: customHeaders(input.internetMessageHeaders),
      conversationId: conversation.conversationId,
      conversationIndex: conversation.conversationIndex,
      isRead: true,
      isDraft: true,
      isDeliveryReceiptRequested: input.isDeliveryReceiptRequested ?? false,
      isReadReceiptRequested: input.isReadReceiptRequested ?? false,
      flag: { flagStatus: input.flag?.flagStatus ?? 'notFlagged' },
      attachments: graphAttachments(input.attachments, (...a) => this.newAttachment(...a)),
      references: [],
    });
    checkRecipientCount(draft);
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
      if (input.toRecipients)
        m.toRecipients = graphRecipients(this.accounts, input.toRecipients, 'toRecipients');
      if (input.ccRecipients)
        m.ccRecipients = graphRecipients(this.accounts, input.ccRecipients, 'ccRecipients');
      if (input.bccRecipients)
        m.bccRecipients = graphRecipients(this.accounts, input.bccRecipients, 'bccRecipients');
      if (input.replyTo) m.replyTo = graphRecipients(this.accounts, input.replyTo, 'replyTo');
      if (input.internetMessageHeaders)
        m.internetMessageHeaders = customHeaders(input.internetMessageHeaders);
      checkRecipientCount(m);
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
    const { to, cc } = replyRecipients(mailbox, original, kind);
    const quoted = quoteOriginal(original);
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
    return graphMessageMime(mailbox, m, this.clock);
  }

  receive(mailbox: GraphMailbox, raw: Buffer): GraphMessage {
    return this.store(mailbox, raw, 'inbox');
  }

  /** Stores a raw message (delivered mail, or a MIME send's Sent Items copy) the way Exchange maps it. */
  store(mailbox: GraphMailbox, raw: Buffer, folder: FolderName): GraphMessage {
    return storeGraphMessage(mailbox, raw, folder, this.clock, (...a) => this.newAttachment(...a));
  }
}
