import { Column, Entity, PrimaryColumn } from 'typeorm';

/** How a binding is found again, per mailbox: `t:<provider thread id>` or `m:<RFC Message-ID>` of a thread message. */
@Entity({ schema: 'sync_engine', name: 'thread_key' })
export class ThreadKeyEntity {
  @PrimaryColumn({ name: 'mailbox_key', type: 'text' })
  mailboxKey!: string;

  @PrimaryColumn({ type: 'text' })
  key!: string;

  @PrimaryColumn({ name: 'binding_id', type: 'uuid' })
  bindingId!: string;

  /** For `m:` keys: that message's id in this mailbox (a Graph reply needs it, SND-5). */
  @Column({ name: 'provider_message_id', type: 'text', nullable: true })
  providerMessageId!: string | null;

  /** For `t:` keys: when the earliest synced message of that provider thread reached the mailbox (SYN-2). */
  @Column({ name: 'first_at', type: 'timestamptz', nullable: true })
  firstAt!: Date | null;
}
