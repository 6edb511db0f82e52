import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';
import { headerValue, parseAddressList, parseMessageIds } from '../shared/mime-headers';
import { extractContent, htmlToText, type MimeNode } from '../shared/mime-parser';
import { normalizeSubject } from '../shared/subject';
import { makeSnippet, type StoredGmailMessage } from './gmail-message-format';
import type { SearchableMessage } from './gmail-search';
import type { ThreadView } from './gmail-threading';

export type HistoryKind = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

export interface HistoryRecord {
  id: number;
  at: number;
  kind: HistoryKind;
  messageId: string;
  threadId: string;
  /** Labels of the message after the change. */
  messageLabels: string[];
  /** For label changes: the labels added or removed. */
  changedLabels: string[];
}

export interface WatchState {
  topicName: string;
  labelIds: string[];
  behavior: 'include' | 'exclude';
  expiration: number;
}

export interface GmailMessage extends StoredGmailMessage {
  messageIdHeader?: string;
  references: string[];
  normalizedSubject: string;
  search: SearchableMessage;
}

export const SYSTEM_LABELS = [
  'INBOX',
  'SENT',
  'DRAFT',
  'SPAM',
  'TRASH',
  'UNREAD',
  'STARRED',
  'IMPORTANT',
  'CHAT',
  'CATEGORY_PERSONAL',
  'CATEGORY_SOCIAL',
  'CATEGORY_PROMOTIONS',
  'CATEGORY_UPDATES',
  'CATEGORY_FORUMS',
];

/** In-memory state of one Gmail mailbox: messages, threads and the history log with its retention window. */
/** A Gmail "Send mail as" alias (`users.settings.sendAs` resource; the primary is implicit). */
export interface GmailSendAs {
  sendAsEmail: string;
  displayName: string;
  replyToAddress: string;
  signature: string;
  isDefault: boolean;
  treatAsAlias: boolean;
  /** `pending` until the owner of the address clicks Gmail's confirmation link. */
  verificationStatus: 'accepted' | 'pending';
}

export class GmailMailbox {
  /** Custom From aliases (SND-7). The primary address is always a send-as address too. */
  sendAs: GmailSendAs[] = [];
  /** Signature of the primary send-as entry (HTML, as Gmail stores it). */
  primarySignature = '';
  readonly messages = new Map<string, GmailMessage>();
  readonly threads = new Map<string, string[]>();
  readonly history: HistoryRecord[] = [];
  historyId: number;
  /** Oldest `startHistoryId` still answerable; older ones get 404. */
  historyFloor: number;
  watch?: WatchState;
  /** Label-changing API calls (messages.modify, batchModify, trash) made by clients: tests assert no echo loop (SYN-7). */
  modifyCalls = 0;
  private sequence = 0;

  constructor(
    readonly address: string,
    readonly displayName: string,
    private readonly clock: Clock,
    private readonly ids: IdFactory,
    private readonly retentionMs: () => number,
  ) {
    this.historyId = ids.int(100_000, 2_000_000);
    this.historyFloor = this.historyId;
  }

  /** `users.settings.sendAs.list`: the primary first, then the custom aliases. */
  sendAsList(): Array<GmailSendAs & { isPrimary?: boolean }> {
    const primary = {
      sendAsEmail: this.address,
      displayName: this.displayName,
      replyToAddress: '',
      signature: this.primarySignature,
      isPrimary: true,
      isDefault: !this.sendAs.some((a) => a.isDefault),
      treatAsAlias: false,
    };
    // The primary carries no verificationStatus: it only applies to custom From aliases.
    return [primary as GmailSendAs & { isPrimary: boolean }, ...this.sendAs];
  }

  /** The address Gmail sends as for this From: itself when primary or an accepted alias, else undefined. */
  sendAsAddress(from: string): string | undefined {
    const f = from.toLowerCase();
    if (f === this.address.toLowerCase()) return this.address;
    return this.sendAs.find((a) => a.sendAsEmail.toLowerCase() === f && a.verificationStatus === 'accepted')
      ?.sendAsEmail;
  }

  /** Gmail ids are the hex millisecond timestamp followed by a per-mailbox sequence: 16 hex digits. */
  newMessageId(at: number): string {
    this.sequence = (this.sequence + this.ids.int(1, 64)) % 0xfffff;
    return `${at.toString(16)}${this.sequence.toString(16).padStart(5, '0')}`.slice(-16).padStart(16, '0');
  }

  /** History ids increase with gaps, like Gmail's. */
  private nextHistoryId(): number {
    this.historyId += this.ids.int(1, 9);
    return this.historyId;
  }

  threadView(threadId: string): ThreadView | undefined {
    const messageIds = this.threads.get(threadId);
    if (!messageIds) return undefined;
    const messages = messageIds.map((id) => this.messages.get(id)).filter((m): m is GmailMessage => !!m);
    return {
      id: threadId,
      messageIds: messages.map((m) => m.messageIdHeader).filter((v): v is string => !!v),
      subjects: [...new Set(messages.map((m) => m.normalizedSubject))],
      size: messages.length,
    };
  }

  /** The thread holding a message with this Message-ID header, if any. */
  threadOfMessageId(messageIdHeader: string): ThreadView | undefined {
    const wanted = messageIdHeader.toLowerCase();
    for (const m of this.messages.values()) {
      if (m.messageIdHeader?.toLowerCase() === wanted) return this.threadView(m.threadId);
    }
    return undefined;
  }

  addMessage(raw: Buffer, mime: MimeNode, labels: string[], threadId?: string): GmailMessage {
    const now = this.clock.now();
    const id = this.newMessageId(now);
    const thread = threadId && this.threads.has(threadId) ? threadId : id;
    const headers = mime.headers;
    const content = extractContent(mime);
    const message: GmailMessage = {
      id,
      threadId: thread,
      labelIds: new Set(labels),
      raw,
      mime,
      internalDate: now,
      historyId: 0,
      snippet: makeSnippet(mime, content),
      messageIdHeader: parseMessageIds(headerValue(headers, 'message-id'))[0],
      references: [
        ...parseMessageIds(headerValue(headers, 'references')),
        ...parseMessageIds(headerValue(headers, 'in-reply-to')),
      ],
      normalizedSubject: normalizeSubject(headerValue(headers, 'subject')),
      search: {
        messageIdHeader: parseMessageIds(headerValue(headers, 'message-id'))[0],
        from: headerValue(headers, 'from') ?? '',
        to: headerValue(headers, 'to') ?? '',
        cc: headerValue(headers, 'cc') ?? '',
        bcc: headerValue(headers, 'bcc') ?? '',
        subject: headerValue(headers, 'subject') ?? '',
        body: content.text ?? (content.html ? htmlToText(content.html) : ''),
        labelIds: new Set(),
        internalDate: now,
        hasAttachment: content.attachments.some((a) => !a.inline),
        filenames: content.attachments.map((a) => a.filename),
      },
    };
    message.search.labelIds = message.labelIds;
    this.messages.set(id, message);
    const list = this.threads.get(thread) ?? [];
    list.push(id);
    this.threads.set(thread, list);
    this.record('messageAdded', message, []);
    return message;
  }

  modifyLabels(message: GmailMessage, add: string[], remove: string[]): HistoryRecord[] {
    const added = add.filter((l) => !message.labelIds.has(l));
    const removed = remove.filter((l) => message.labelIds.has(l) && !add.includes(l));
    added.forEach((l) => message.labelIds.add(l));
    removed.forEach((l) => message.labelIds.delete(l));
    const records: HistoryRecord[] = [];
    if (added.length > 0) records.push(this.record('labelAdded', message, added));
    if (removed.length > 0) records.push(this.record('labelRemoved', message, removed));
    return records;
  }

  deleteMessage(message: GmailMessage): HistoryRecord {
    this.messages.delete(message.id);
    const list = (this.threads.get(message.threadId) ?? []).filter((id) => id !== message.id);
    if (list.length === 0) this.threads.delete(message.threadId);
    else this.threads.set(message.threadId, list);
    return this.record('messageDeleted', message, []);
  }

  private record(kind: HistoryKind, message: GmailMessage, changed: string[]): HistoryRecord {
    const id = this.nextHistoryId();
    message.historyId = id;
    const record: HistoryRecord = {
      id,
      at: this.clock.now(),
      kind,
      messageId: message.id,
      threadId: message.threadId,
      messageLabels: [...message.labelIds],
      changedLabels: changed,
    };
    this.history.push(record);
    return record;
  }

  /** Index of the first history record with an id above `historyId` (ids increase: a binary search). */
  historyIndexAfter(historyId: number): number {
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.history[mid].id <= historyId) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  historyRecord(historyId: number): HistoryRecord | undefined {
    const r = this.history[this.historyIndexAfter(historyId) - 1];
    return r?.id === historyId ? r : undefined;
  }

  /** Drops records older than the retention window; their ids become unanswerable (404). */
  prune(): void {
    const cutoff = this.clock.now() - this.retentionMs();
    while (this.history.length > 0 && this.history[0].at < cutoff) {
      const dropped = this.history.shift();
      if (dropped) this.historyFloor = Math.max(this.historyFloor, dropped.id);
    }
  }

  /** Makes every earlier history id stale, as when Google's retention runs out. */
  expireHistory(): void {
    this.history.splice(0);
    this.historyFloor = this.historyId;
  }

  isStale(startHistoryId: number): boolean {
    this.prune();
    return startHistoryId < this.historyFloor;
  }

  threadsTotal(): number {
    return this.threads.size;
  }
}

export function addressesOf(value: string | undefined): string[] {
  return parseAddressList(value).map((a) => a.address.toLowerCase());
}
