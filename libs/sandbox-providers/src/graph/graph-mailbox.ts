import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';

export const WELL_KNOWN_FOLDERS = [
  'inbox',
  'sentitems',
  'drafts',
  'deleteditems',
  'junkemail',
  'archive',
  'outbox',
] as const;
export type FolderName = (typeof WELL_KNOWN_FOLDERS)[number];

const FOLDER_DISPLAY: Record<FolderName, string> = {
  inbox: 'Inbox',
  sentitems: 'Sent Items',
  drafts: 'Drafts',
  deleteditems: 'Deleted Items',
  junkemail: 'Junk Email',
  archive: 'Archive',
  outbox: 'Outbox',
};

export interface GraphEmailAddress {
  emailAddress: { name: string; address: string };
}

export interface GraphAttachment {
  id: string;
  name: string;
  contentType: string;
  size: number;
  isInline: boolean;
  contentId?: string;
  content: Buffer;
  lastModifiedDateTime: string;
}

export interface GraphMessage {
  immutableId: string;
  restId: string;
  folder: FolderName;
  createdDateTime: number;
  lastModifiedDateTime: number;
  receivedDateTime: number;
  sentDateTime?: number;
  changeKey: string;
  categories: string[];
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  importance: 'low' | 'normal' | 'high';
  from?: GraphEmailAddress;
  sender?: GraphEmailAddress;
  toRecipients: GraphEmailAddress[];
  ccRecipients: GraphEmailAddress[];
  bccRecipients: GraphEmailAddress[];
  replyTo: GraphEmailAddress[];
  internetMessageId: string;
  /** Custom `x-` headers of drafts, or the full header list of sent/received mail. */
  internetMessageHeaders: { name: string; value: string }[];
  conversationId: string;
  conversationIndex: Buffer;
  isRead: boolean;
  isDraft: boolean;
  isDeliveryReceiptRequested: boolean;
  isReadReceiptRequested: boolean;
  flag: { flagStatus: 'notFlagged' | 'flagged' | 'complete' };
  attachments: GraphAttachment[];
  inReplyTo?: string;
  references: string[];
  /** RFC 822 form, kept for sent and received mail (served by `$value`). */
  raw?: Buffer;
  /** Sequence number of the last change (delta and etags). */
  seq: number;
}

export type ChangeType = 'created' | 'updated' | 'deleted';

export interface ChangeRecord {
  seq: number;
  folder: FolderName;
  immutableId: string;
  /** The REST id the message had in that folder (it changes on moves). */
  restId: string;
  type: ChangeType;
}

export interface MailFolder {
  name: FolderName;
  id: string;
  displayName: string;
}

/** One Exchange Online mailbox: folders, messages (with immutable and movable ids) and a per-folder change log. */
export class GraphMailbox {
  /** Extra SMTP proxy addresses (aliases) of the user, as `smtp:<address>` (SND-7); the primary is `SMTP:`. */
  aliases: string[] = [];
  readonly folders: MailFolder[];
  readonly messages = new Map<string, GraphMessage>();
  private readonly restIndex = new Map<string, string>();
  readonly changes: ChangeRecord[] = [];
  /** Bumped per folder to invalidate delta tokens (410 Gone). */
  readonly deltaEpoch = new Map<FolderName, number>();
  private seq = 0;
  readonly conversations = new Map<string, string>();
  readonly serverName: string;
  /** `PATCH /messages/{id}` calls made by clients: tests assert no echo loop (SYN-7). */
  modifyCalls = 0;

  /** The user's `proxyAddresses` as Graph returns them: `SMTP:` primary first, then `smtp:` aliases. */
  proxyAddresses(): string[] {
    return [`SMTP:${this.address}`, ...this.aliases.map((a) => `smtp:${a}`)];
  }

  /** The address to send as: the primary or one of its proxy addresses (Exchange "send from alias"), else undefined. */
  sendAsAddress(from: string): string | undefined {
    const f = from.toLowerCase();
    if (f === this.address.toLowerCase()) return this.address;
    return this.aliases.find((a) => a.toLowerCase() === f);
  }

  constructor(
    readonly address: string,
    readonly displayName: string,
    readonly oid: string,
    readonly tenantId: string,
    private readonly clock: Clock,
    readonly ids: IdFactory,
  ) {
    this.folders = WELL_KNOWN_FOLDERS.map((name) => ({
      name,
      id: `AAMkAG${ids.base64url(48)}AAEM${ids.base64url(24)}AAA=`,
      displayName: FOLDER_DISPLAY[name],
    }));
    this.serverName = `SA${ids.int(1, 9)}PR${ids.int(10, 19)}MB${ids.int(1000, 9999)}`;
  }

  folder(nameOrId: string): MailFolder | undefined {
    const lower = nameOrId.toLowerCase();
    return this.folders.find(
      (f) => f.name === lower || f.id === nameOrId || f.displayName.toLowerCase() === lower,
    );
  }

  folderId(name: FolderName): string {
    return this.folders.find((f) => f.name === name)?.id ?? name;
  }

  newRestId(): string {
    return `AAMkAG${this.ids.base64url(36)}BGAAAAAA${this.ids.base64url(60)}AAA=`;
  }

  newImmutableId(): string {
    return `AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A${this.ids.base64url(54)}AAA=`;
  }

  newChangeKey(): string {
    return `CQAAABYAAAA${this.ids.base64url(21)}`;
  }

  /** `<…@SA1PR12MB1234.namprd12.prod.outlook.com>`, the shape Exchange Online gives. */
  newInternetMessageId(): string {
    const region = this.serverName.slice(4, 6);
    return `<${this.serverName}${this.ids.hex(32).toUpperCase()}@${this.serverName}.namprd${region}.prod.outlook.com>`;
  }

  /** A new conversation: Thread-Index header block (reserved byte, 5 time bytes, GUID) and its conversationId. */
  newConversation(): { conversationId: string; conversationIndex: Buffer } {
    const guid = this.ids.bytes(16);
    const index = Buffer.concat([Buffer.from([0x01]), this.timeBytes(), guid]);
    return { conversationId: this.conversationIdFor(guid), conversationIndex: index };
  }

  conversationIdFor(guid: Buffer): string {
    const key = guid.toString('hex');
    let id = this.conversations.get(key);
    if (!id) {
      id = `AAQkAG${Buffer.concat([Buffer.from(this.oid.replace(/-/g, ''), 'hex').subarray(0, 12), guid]).toString('base64url')}=`;
      this.conversations.set(key, id);
    }
    return id;
  }

  /** Child Thread-Index: the parent's plus a 5-byte block. */
  childIndex(parent: Buffer): Buffer {
    return Buffer.concat([parent, this.ids.bytes(5)]);
  }

  private timeBytes(): Buffer {
    // FILETIME (100 ns since 1601) high bytes, as Outlook writes them.
    const filetime = BigInt(this.clock.now()) * 10_000n + 116_444_736_000_000_000n;
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(filetime);
    return b.subarray(0, 5);
  }

  byId(id: string): GraphMessage | undefined {
    return this.messages.get(id) ?? this.messages.get(this.restIndex.get(id) ?? '');
  }

  add(message: Omit<GraphMessage, 'seq'>): GraphMessage {
    const stored = { ...message, seq: 0 } as GraphMessage;
    this.messages.set(stored.immutableId, stored);
    this.restIndex.set(stored.restId, stored.immutableId);
    this.record(stored, 'created');
    return stored;
  }

  touch(message: GraphMessage): void {
    message.lastModifiedDateTime = this.clock.now();
    message.changeKey = this.newChangeKey();
    this.record(message, 'updated');
  }

  /** Moves to another folder: outside Prefer ImmutableId the id changes, as in Exchange. */
  move(message: GraphMessage, folder: FolderName): void {
    if (message.folder === folder) return;
    this.record(message, 'deleted');
    this.restIndex.delete(message.restId);
    message.restId = this.newRestId();
    this.restIndex.set(message.restId, message.immutableId);
    message.folder = folder;
    message.lastModifiedDateTime = this.clock.now();
    message.changeKey = this.newChangeKey();
    this.record(message, 'created');
  }

  remove(message: GraphMessage): void {
    this.messages.delete(message.immutableId);
    this.restIndex.delete(message.restId);
    this.record(message, 'deleted');
  }

  inFolder(folder: FolderName): GraphMessage[] {
    return [...this.messages.values()].filter((m) => m.folder === folder);
  }

  byInternetMessageId(id: string): GraphMessage | undefined {
    const wanted = id.toLowerCase();
    return [...this.messages.values()].find((m) => m.internetMessageId.toLowerCase() === wanted);
  }

  get currentSeq(): number {
    return this.seq;
  }

  private listeners: ((m: GraphMessage, type: ChangeType, folder: FolderName) => void)[] = [];

  onChange(listener: (m: GraphMessage, type: ChangeType, folder: FolderName) => void): void {
    this.listeners.push(listener);
  }

  private record(message: GraphMessage, type: ChangeType): void {
    this.seq++;
    message.seq = this.seq;
    this.changes.push({
      seq: this.seq,
      folder: message.folder,
      immutableId: message.immutableId,
      restId: message.restId,
      type,
    });
    for (const l of this.listeners) l(message, type, message.folder);
  }
}
