import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Every send attempt, recorded BEFORE the provider is called (SND-6). `sending` = the outcome is unknown (a crash or
 * timeout after the call): look in Sent before sending again. `not_sent` = the provider certainly refused it.
 */
export type SendState = 'sending' | 'not_sent' | 'sent' | 'failed';

@Entity({ schema: 'mail_gateway', name: 'send_log' })
export class SendLogEntity {
  @PrimaryColumn({ name: 'send_id', type: 'uuid' })
  sendId!: string;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ type: 'text' })
  route!: 'mailbox' | 'location_provider';

  @Column({ name: 'mailbox_key', type: 'text', nullable: true })
  mailboxKey!: string | null;

  @Column({ name: 'connection_id', type: 'uuid', nullable: true })
  connectionId!: string | null;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text' })
  state!: SendState;

  @Column({ type: 'int' })
  attempts!: number;

  @Column({ name: 'rfc_message_id', type: 'text' })
  rfcMessageId!: string;

  @Column({ name: 'provider_message_id', type: 'text', nullable: true })
  providerMessageId!: string | null;

  @Column({ name: 'provider_thread_id', type: 'text', nullable: true })
  providerThreadId!: string | null;

  /** Graph: the finished draft, recorded before it is sent, so a retry sends that draft or finds it sent. */
  @Column({ name: 'provider_draft_id', type: 'text', nullable: true })
  providerDraftId!: string | null;

  /** The Message-ID the provider actually used (Graph assigns its own). */
  @Column({ name: 'provider_rfc_message_id', type: 'text', nullable: true })
  providerRfcMessageId!: string | null;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;
}
