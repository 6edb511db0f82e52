import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';
import {
  formatAddress,
  headerValue,
  parseAddressList,
  parseHeaderBlock,
  parseMessageIds,
  rewriteHeaders,
  splitMessage,
} from '../shared/mime-headers';
import { parseMime } from '../shared/mime-parser';
import type { PostOffice } from '../shared/post-office';
import { normalizeSubject } from '../shared/subject';
import type { GoogleAccounts } from '../google/google-accounts';
import { gmailErrors } from './gmail-errors';
import { GmailMailbox, type GmailMessage, type HistoryRecord } from './gmail-mailbox';
import { placeInboundMessage, placeSentMessage, type Placement } from './gmail-threading';

export interface SendOutcome {
  message: GmailMessage;
  placement: Placement;
  delivered: string[];
  external: string[];
}

export type HistoryListener = (mailbox: GmailMailbox, record: HistoryRecord) => void;

/** Mailboxes of the Gmail emulator and the behaviour of sending and receiving mail. */
export class GmailService {
  private readonly mailboxes = new Map<string, GmailMailbox>();
  historyRetentionMs: number;
  private readonly listeners: HistoryListener[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly ids: IdFactory,
    private readonly postOffice: PostOffice,
    private readonly accounts: GoogleAccounts,
    options: { historyRetentionMs: number },
  ) {
    this.historyRetentionMs = options.historyRetentionMs;
  }

  onHistory(listener: HistoryListener): void {
    this.listeners.push(listener);
  }

  createMailbox(address: string, displayName?: string): GmailMailbox {
    const existing = this.get(address);
    if (existing) return existing;
    const taken = this.postOffice.lookup(address);
    if (taken) throw new Error(`${address} is already a ${taken.provider} sandbox mailbox`);
    const account = this.accounts.addAccount(address, displayName);
    const mailbox = new GmailMailbox(
      address,
      account.name,
      this.clock,
      this.ids,
      () => this.historyRetentionMs,
    );
    this.postOffice.register({
      provider: 'google',
      address,
      receive: (raw) => {
        this.receive(mailbox, raw);
      },
    });
    this.mailboxes.set(address.toLowerCase(), mailbox);
    return mailbox;
  }

  get(address: string): GmailMailbox | undefined {
    return this.mailboxes.get(address.toLowerCase());
  }

  list(): GmailMailbox[] {
    return [...this.mailboxes.values()];
  }

  /** `messages.send`: fixes up From/Message-ID/Date as Gmail does, threads, stores the SENT copy and delivers. */
  async send(mailbox: GmailMailbox, input: Buffer, requestedThreadId?: string): Promise<SendOutcome> {
    let raw = input;
    const headers = parseHeaderBlock(splitMessage(raw).head);
    const recipients = ['to', 'cc', 'bcc'].flatMap((h) => parseAddressList(headerValue(headers, h)));
    if (recipients.length === 0) throw gmailErrors.invalidArgument('Recipient address required');
    const changes: Record<string, string> = {};
    const from = parseAddressList(headerValue(headers, 'from'))[0];
    const sendAs = from ? mailbox.sendAsAddress(from.address) : undefined;
    if (!from || !sendAs) {
      // Gmail sends as the user unless From is the primary address or an accepted send-as alias.
      changes.From = formatAddress({ name: from?.name || mailbox.displayName, address: mailbox.address });
    }
    if (parseMessageIds(headerValue(headers, 'message-id')).length === 0) {
      changes['Message-ID'] = `<CA${this.ids.alphanumeric(20)}+${this.ids.alphanumeric(24)}@mail.gmail.com>`;
    }
    if (!headerValue(headers, 'date'))
      changes.Date = new Date(this.clock.now()).toUTCString().replace('GMT', '+0000');
    if (!headerValue(headers, 'mime-version')) changes['MIME-Version'] = '1.0';
    if (Object.keys(changes).length > 0) raw = rewriteHeaders(raw, changes);
    const mime = parseMime(raw);
    const references = [
      ...parseMessageIds(headerValue(mime.headers, 'references')),
      ...parseMessageIds(headerValue(mime.headers, 'in-reply-to')),
    ];
    const placement = placeSentMessage({
      requestedThreadId,
      thread: requestedThreadId ? mailbox.threadView(requestedThreadId) : undefined,
      references,
      normalizedSubject: normalizeSubject(headerValue(mime.headers, 'subject')),
    });
    const toSelf = recipients.some((r) => r.address.toLowerCase() === mailbox.address.toLowerCase());
    const labels = toSelf ? ['SENT', 'INBOX', 'UNREAD'] : ['SENT'];
    const message = mailbox.addMessage(raw, mime, labels, placement.join ? placement.threadId : undefined);
    this.emit(mailbox, message.historyId);
    const others = [...new Set(recipients.map((r) => r.address.toLowerCase()))].filter(
      (r) => r !== mailbox.address.toLowerCase(),
    );
    const result = await this.postOffice.dispatch(raw, {
      from: sendAs ?? mailbox.address,
      recipients: others,
    });
    return { message, placement, delivered: result.delivered, external: result.external };
  }

  /** Inbound delivery: threads by References/In-Reply-To + subject, labels INBOX/UNREAD. */
  receive(mailbox: GmailMailbox, raw: Buffer): GmailMessage {
    const mime = parseMime(raw);
    const references = [
      ...parseMessageIds(headerValue(mime.headers, 'references')),
      ...parseMessageIds(headerValue(mime.headers, 'in-reply-to')),
    ];
    const placement = placeInboundMessage({
      references,
      normalizedSubject: normalizeSubject(headerValue(mime.headers, 'subject')),
      threadOf: (id) => mailbox.threadOfMessageId(id),
    });
    const message = mailbox.addMessage(
      raw,
      mime,
      ['INBOX', 'UNREAD', 'CATEGORY_PERSONAL'],
      placement.join ? placement.threadId : undefined,
    );
    this.emit(mailbox, message.historyId);
    return message;
  }

  modify(mailbox: GmailMailbox, message: GmailMessage, add: string[], remove: string[]): void {
    const records = mailbox.modifyLabels(message, add, remove);
    if (records.length > 0) this.emit(mailbox, records[records.length - 1].id);
  }

  delete(mailbox: GmailMailbox, message: GmailMessage): void {
    const record = mailbox.deleteMessage(message);
    this.emit(mailbox, record.id);
  }

  private emit(mailbox: GmailMailbox, historyId: number): void {
    // The record just written is at (or next to) the end: a scan from the front grew with the mailbox's history.
    const record = mailbox.historyRecord(historyId);
    if (!record) return;
    for (const l of this.listeners) l(mailbox, record);
  }
}
