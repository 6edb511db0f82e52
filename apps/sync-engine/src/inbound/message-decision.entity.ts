import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Why an observed message was delivered or skipped (one row per message per mailbox; repeats are counted). */
@Entity({ schema: 'sync_engine', name: 'message_decision' })
export class MessageDecisionEntity {
  @PrimaryColumn({ name: 'mailbox_key', type: 'text' })
  mailboxKey!: string;

  @PrimaryColumn({ name: 'provider_message_id', type: 'text' })
  providerMessageId!: string;

  @Column({ name: 'rfc_message_id', type: 'text', nullable: true })
  rfcMessageId!: string | null;

  @Column({ name: 'event_id', type: 'uuid' })
  eventId!: string;

  @Column({ type: 'text' })
  source!: string;

  @Column({ type: 'text' })
  direction!: string;

  /** delivered | skipped | parked */
  @Column({ type: 'text' })
  outcome!: string;

  @Column({ type: 'text', array: true })
  rules!: string[];

  @Column({ type: 'jsonb' })
  deliveries!: unknown;

  @Column({ type: 'jsonb' })
  skips!: unknown;

  @Column({ type: 'jsonb' })
  trace!: string[];

  /** The same message observed again (push + poll, redelivery): recorded, never synced twice (SYN-5). */
  @Column({ type: 'int' })
  repeats!: number;

  @Column({ name: 'decided_at', type: 'timestamptz' })
  decidedAt!: Date;
}
