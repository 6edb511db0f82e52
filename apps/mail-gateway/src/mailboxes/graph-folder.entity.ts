import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A followed Graph folder (inbox, sentitems): its delta cursor and its change-notification subscription. */
@Entity({ schema: 'mail_gateway', name: 'graph_folders' })
export class GraphFolderEntity {
  @PrimaryColumn({ name: 'mailbox_id', type: 'uuid' })
  mailboxId!: string;

  @PrimaryColumn({ type: 'text' })
  folder!: 'inbox' | 'sentitems';

  /** The next delta call: a next link (round in progress) or a delta link; null = start a new round. */
  @Column({ type: 'text', nullable: true })
  link!: string | null;

  /** During a baseline (CON-6) or gap re-list round: only messages received from then on are observed. */
  @Column({ name: 'import_after', type: 'timestamptz', nullable: true })
  importAfter!: Date | null;

  @Column({ name: 'round_started_at', type: 'timestamptz', nullable: true })
  roundStartedAt!: Date | null;

  /** Start of the last completed round: everything received before it was observed. */
  @Column({ name: 'synced_at', type: 'timestamptz', nullable: true })
  syncedAt!: Date | null;

  @Column({ name: 'subscription_id', type: 'text', nullable: true, unique: true })
  subscriptionId!: string | null;

  /** SHA-256 of the subscription's clientState: the secret itself is never stored. */
  @Column({ name: 'client_state_digest', type: 'text', nullable: true })
  clientStateDigest!: string | null;

  @Column({ name: 'subscription_expires_at', type: 'timestamptz', nullable: true })
  subscriptionExpiresAt!: Date | null;

  /** Asked for by a lifecycle event: `renew` (reauthorizationRequired) or `recreate` (subscriptionRemoved). */
  @Column({ name: 'subscription_action', type: 'text', nullable: true })
  subscriptionAction!: 'renew' | 'recreate' | null;
}
