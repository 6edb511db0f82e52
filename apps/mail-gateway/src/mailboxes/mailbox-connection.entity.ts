import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A connection pointing at a mailbox, as identity-connections' events describe it. */
@Entity({ schema: 'mail_gateway', name: 'mailbox_connections' })
export class MailboxConnectionEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ name: 'mailbox_id', type: 'uuid' })
  mailboxId!: string;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  /** active | reauth_required | disconnected | replaced */
  @Column({ type: 'text' })
  status!: string;

  /** When the event that set this status happened: an older event never overwrites a newer status. */
  @Column({ name: 'changed_at', type: 'timestamptz' })
  changedAt!: Date;
}
