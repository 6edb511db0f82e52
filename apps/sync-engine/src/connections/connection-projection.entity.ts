import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** sync-engine's copy of the connections (identity-connections' events): who watches which mailbox, with what scope. */
@Entity({ schema: 'sync_engine', name: 'connection_projection' })
@Index('connection_projection_mailbox_idx', ['mailboxKey'])
export class ConnectionProjectionEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  /** Null only for a placeholder: a connection replaced (CON-3) before its own events arrived. */
  @Column({ type: 'text', nullable: true })
  provider!: string | null;

  @Column({ name: 'email_normalized', type: 'text', nullable: true })
  emailNormalized!: string | null;

  @Column({ name: 'mailbox_key', type: 'text', nullable: true })
  mailboxKey!: string | null;

  @Column({ name: 'sync_scope', type: 'text', nullable: true })
  syncScope!: string | null;

  /** active | reauth_required | disconnected | replaced; the last two are final. */
  @Column({ type: 'text' })
  status!: string;

  @Column({ name: 'connected_at', type: 'timestamptz', nullable: true })
  connectedAt!: Date | null;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
