import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Projection of identity-connections' connections: which provider a user's mailbox is (ATT-1 limits) and which
 * mailbox an individual send goes through (SND-4 pre-check). Never a token.
 */
@Entity({ schema: 'conversations', name: 'connections' })
export class ConnectionEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ type: 'text' })
  provider!: 'google' | 'microsoft';

  @Column({ name: 'email_address', type: 'text' })
  emailAddress!: string;

  @Column({ name: 'mailbox_key', type: 'text' })
  mailboxKey!: string;

  @Column({ type: 'text' })
  status!: 'active' | 'reauth_required' | 'disconnected' | 'replaced';

  @Column({ name: 'connected_at', type: 'timestamptz' })
  connectedAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
