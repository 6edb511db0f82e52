import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** sync-engine's own copy of the CRM's contacts, kept from contact events: what matching (ADR-*, SYN-3/4) reads. */
@Entity({ schema: 'sync_engine', name: 'contact_projection' })
@Index('contact_projection_match_idx', ['locationId', 'emailNormalized'])
export class ContactProjectionEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'contact_id', type: 'text' })
  contactId!: string;

  /** Whole address lower-cased (ADR-5). */
  @Column({ name: 'email_normalized', type: 'text' })
  emailNormalized!: string;

  @Column({ name: 'assigned_user_id', type: 'text', nullable: true })
  assignedUserId!: string | null;

  /** The CRM's creation time: ADR-3 picks the earliest contact of a shared address. */
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ type: 'boolean' })
  deleted!: boolean;

  /** Revision of the last applied event: older or repeated events are ignored. */
  @Column({ type: 'int' })
  revision!: number;
}
