import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A message that did not sync and might once its thread is bound (it arrived before the message that binds the thread,
 * SYN-6). Kept for a bounded time (PARKED_MESSAGE_RETENTION_HOURS), then forgotten.
 */
@Entity({ schema: 'sync_engine', name: 'parked_message' })
export class ParkedMessageEntity {
  @PrimaryColumn({ name: 'mailbox_key', type: 'text' })
  mailboxKey!: string;

  @PrimaryColumn({ name: 'provider_message_id', type: 'text' })
  providerMessageId!: string;

  @Column({ type: 'text', array: true })
  keys!: string[];

  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @Column({ type: 'jsonb' })
  observed!: unknown;

  @Column({ name: 'parked_at', type: 'timestamptz' })
  parkedAt!: Date;
}
