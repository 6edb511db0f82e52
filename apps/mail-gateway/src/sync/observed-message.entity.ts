import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Provider messages already published as observed: one event per message per mailbox, whatever re-lists it. */
@Entity({ schema: 'mail_gateway', name: 'observed_messages' })
export class ObservedMessageEntity {
  @PrimaryColumn({ name: 'mailbox_id', type: 'uuid' })
  mailboxId!: string;

  @PrimaryColumn({ name: 'provider_message_id', type: 'text' })
  providerMessageId!: string;

  @Column({ name: 'observed_at', type: 'timestamptz' })
  observedAt!: Date;
}
