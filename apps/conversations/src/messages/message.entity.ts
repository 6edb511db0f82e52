import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { MailboxStateRegisters } from '@mailbridge/domain-mail';

export interface StoredAddress {
  name?: string;
  address: string;
}

export type MessageDirection = 'inbound' | 'outbound';
export type MessageSource = 'crm' | 'mailbox' | 'smart_bcc';
export type MessageStatus = 'pending' | 'sent' | 'failed' | 'received' | 'bounced';

/** SYN-9: why a CRM send bounced, as the non-delivery report said. */
export interface StoredBounce {
  recipients: Array<{ address: string; status: string | null; diagnostic: string | null }>;
  status: string | null;
  diagnostic: string | null;
  /** The report as a message of the conversation. */
  bounceMessageId: string | null;
  bouncedAt: string;
}

/** A message of a conversation: sent from the CRM (pending → sent/failed) or synced from a mailbox. */
@Entity({ schema: 'conversations', name: 'messages' })
export class MessageEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'message_id', type: 'uuid' })
  messageId!: string;

  /** Arrival order (SYN-6 tie-break) and the keyset's last column. bigint: read as a string. */
  @Column({ type: 'bigint', insert: false, update: false })
  seq!: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId!: string;

  @Column({ name: 'contact_id', type: 'text' })
  contactId!: string;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'connection_id', type: 'uuid', nullable: true })
  connectionId!: string | null;

  /** Set while an individual CRM send counts against a mailbox's cap (SND-4). */
  @Column({ name: 'mailbox_key', type: 'text', nullable: true })
  mailboxKey!: string | null;

  @Column({ type: 'text', nullable: true })
  kind!: 'individual' | 'bulk' | 'workflow' | null;

  @Column({ type: 'text' })
  direction!: MessageDirection;

  @Column({ type: 'text' })
  source!: MessageSource;

  @Column({ type: 'text' })
  status!: MessageStatus;

  @Column({ name: 'from_address', type: 'jsonb', nullable: true })
  from!: StoredAddress | null;

  @Column({ name: 'to_addresses', type: 'jsonb' })
  to!: StoredAddress[];

  @Column({ name: 'cc_addresses', type: 'jsonb' })
  cc!: StoredAddress[];

  @Column({ name: 'bcc_addresses', type: 'jsonb' })
  bcc!: StoredAddress[];

  @Column({ type: 'text' })
  subject!: string;

  @Column({ name: 'text_body', type: 'text', nullable: true })
  text!: string | null;

  @Column({ name: 'html_body', type: 'text', nullable: true })
  html!: string | null;

  @Column({ name: 'body_truncated', type: 'boolean' })
  bodyTruncated!: boolean;

  /** The message's own date: the Date header (else when received); for a CRM send, when it was requested. */
  @Column({ name: 'sort_at', type: 'timestamptz' })
  sortAt!: Date;

  /**
   * SYN-6 listing key with `sortReceivedAt` and `seq` (see message-order.ts): the date at whole-second resolution.
   * Written by MessagesRepository only: computed on insert, and again when a CRM send is sent or seen in the mailbox.
   */
  @Column({ name: 'sort_second', type: 'timestamptz', insert: false, update: false })
  sortSecond!: Date;

  /** SYN-6 tie-break within a second: when the provider received it (ms); for a CRM send, see message-order.ts. */
  @Column({ name: 'sort_received_at', type: 'timestamptz', insert: false, update: false })
  sortReceivedAt!: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;

  @Column({ name: 'received_at', type: 'timestamptz', nullable: true })
  receivedAt!: Date | null;

  @Column({ type: 'text', nullable: true })
  provider!: string | null;

  @Column({ name: 'provider_message_id', type: 'text', nullable: true })
  providerMessageId!: string | null;

  @Column({ name: 'provider_thread_id', type: 'text', nullable: true })
  providerThreadId!: string | null;

  @Column({ name: 'rfc_message_id', type: 'text', nullable: true })
  rfcMessageId!: string | null;

  @Column({ name: 'in_reply_to', type: 'text', nullable: true })
  inReplyTo!: string | null;

  @Column({ type: 'jsonb' })
  references!: string[];

  @Column({ name: 'delivery_id', type: 'uuid', nullable: true })
  deliveryId!: string | null;

  /** The sync rule that put a mailbox message here (SYN-2, BCC-1...). */
  @Column({ type: 'text', nullable: true })
  rule!: string | null;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true })
  idempotencyKey!: string | null;

  @Column({ name: 'failure_code', type: 'text', nullable: true })
  failureCode!: string | null;

  @Column({ name: 'failure_message', type: 'text', nullable: true })
  failureMessage!: string | null;

  /** SYN-9: who wrote a received message (`human`, `auto_reply`, `bounce`, `bulk`); null for what the user sent. */
  @Column({ type: 'text', nullable: true, insert: false })
  classification!: 'human' | 'auto_reply' | 'bounce' | 'bulk' | null;

  /** SYN-9: on a CRM send that bounced, the reason. */
  @Column({ type: 'jsonb', nullable: true, insert: false })
  bounce!: StoredBounce | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  /** SYN-7: read / trashed / deleted in the mailbox, a last-writer-wins register per flag; null until one is known. */
  @Column({ name: 'mailbox_state', type: 'jsonb', nullable: true })
  mailboxState!: MailboxStateRegisters | null;
}
