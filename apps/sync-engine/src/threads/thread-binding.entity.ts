import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A synced thread: a provider thread of one mailbox bound to one conversation of one location through one connection. */
@Entity({ schema: 'sync_engine', name: 'thread_binding' })
export class ThreadBindingEntity {
  @PrimaryColumn({ name: 'binding_id', type: 'uuid' })
  bindingId!: string;

  @Column({ name: 'mailbox_key', type: 'text' })
  mailboxKey!: string;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ name: 'contact_id', type: 'text' })
  contactId!: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId!: string;

  /** SYN-1, SYN-3, SYN-4, ADR-4 or BCC-1. */
  @Column({ name: 'origin_rule', type: 'text' })
  originRule!: string;

  /** When the message that created it reached the mailbox; null for CRM sends. */
  @Column({ name: 'origin_at', type: 'timestamptz', nullable: true })
  originAt!: Date | null;

  @Column({ type: 'text' })
  status!: 'active' | 'ended';

  /** connection_disconnected (CON-4), connection_replaced (CON-3), rebound_elsewhere (SYN-4). */
  @Column({ name: 'end_reason', type: 'text', nullable: true })
  endReason!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;
}
