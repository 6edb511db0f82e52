import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A CRM email request as sync-engine routed it (SND-1..3) or refused it; one per CRM message id (SND-6). */
@Entity({ schema: 'sync_engine', name: 'crm_send' })
export class CrmSendEntity {
  @PrimaryColumn({ name: 'send_id', type: 'uuid' })
  sendId!: string;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ name: 'contact_id', type: 'text' })
  contactId!: string;

  @Column({ name: 'conversation_id', type: 'uuid' })
  conversationId!: string;

  @Column({ type: 'text' })
  kind!: string;

  /** requested | refused | succeeded | failed */
  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text' })
  rule!: string;

  @Column({ type: 'jsonb', nullable: true })
  route!: unknown;

  @Column({ name: 'connection_id', type: 'uuid', nullable: true })
  connectionId!: string | null;

  @Column({ name: 'mailbox_key', type: 'text', nullable: true })
  mailboxKey!: string | null;

  @Column({ name: 'rfc_message_id', type: 'text', nullable: true })
  rfcMessageId!: string | null;

  @Column({ name: 'binding_id', type: 'uuid', nullable: true })
  bindingId!: string | null;

  @Column({ name: 'created_binding', type: 'boolean' })
  createdBinding!: boolean;

  @Column({ name: 'reply_keys', type: 'text', array: true })
  replyKeys!: string[];

  /** SYN-4: the bindings of other locations this reply ended when it was routed (given back if the send fails). */
  @Column({ name: 'ended_binding_ids', type: 'uuid', array: true })
  endedBindingIds!: string[];

  @Column({ name: 'refusal_code', type: 'text', nullable: true })
  refusalCode!: string | null;

  @Column({ name: 'refusal_message', type: 'text', nullable: true })
  refusalMessage!: string | null;

  @Column({ name: 'provider_message_id', type: 'text', nullable: true })
  providerMessageId!: string | null;

  @Column({ name: 'provider_thread_id', type: 'text', nullable: true })
  providerThreadId!: string | null;

  @Column({ type: 'jsonb' })
  trace!: string[];

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
