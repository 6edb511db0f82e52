import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { StoredAddress } from '../messages/message.entity';

export type SyncEventKind = 'message_skipped' | 'send_failed' | 'sync_gap' | 'state_change_failed';

/** Something that did not sync or send, with why: nothing disappears silently (ATT-1, SND-4, CON-5). */
@Entity({ schema: 'conversations', name: 'sync_events' })
export class SyncEventEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'sync_event_id', type: 'uuid' })
  syncEventId!: string;

  @Column({ type: 'bigint', insert: false, update: false })
  seq!: string;

  @Column({ type: 'text' })
  kind!: SyncEventKind;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'text', nullable: true })
  rule!: string | null;

  @Column({ type: 'text' })
  detail!: string;

  @Column({ name: 'contact_id', type: 'text', nullable: true })
  contactId!: string | null;

  @Column({ name: 'user_id', type: 'text', nullable: true })
  userId!: string | null;

  @Column({ name: 'connection_id', type: 'uuid', nullable: true })
  connectionId!: string | null;

  @Column({ name: 'mailbox_key', type: 'text', nullable: true })
  mailboxKey!: string | null;

  /** The CRM message, for a failed send. */
  @Column({ name: 'message_id', type: 'uuid', nullable: true })
  messageId!: string | null;

  @Column({ name: 'provider_message_id', type: 'text', nullable: true })
  providerMessageId!: string | null;

  @Column({ name: 'rfc_message_id', type: 'text', nullable: true })
  rfcMessageId!: string | null;

  @Column({ type: 'text', nullable: true })
  subject!: string | null;

  @Column({ name: 'from_address', type: 'jsonb', nullable: true })
  from!: StoredAddress | null;

  /** For a sync gap: the time range that may not have synced. */
  @Column({ name: 'range_from', type: 'timestamptz', nullable: true })
  rangeFrom!: Date | null;

  @Column({ name: 'range_to', type: 'timestamptz', nullable: true })
  rangeTo!: Date | null;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'source_event_id', type: 'uuid' })
  sourceEventId!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
