import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** The CRM's contact, as the CRM last told us (the CRM is the source of truth). */
@Entity({ schema: 'conversations', name: 'contacts' })
@Index('contacts_location_email_idx', ['locationId', 'emailNormalized'])
export class ContactEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'contact_id', type: 'text' })
  contactId!: string;

  @Column({ type: 'text' })
  email!: string;

  /** Whole address lower-cased (ADR-5); what matching uses. */
  @Column({ name: 'email_normalized', type: 'text' })
  emailNormalized!: string;

  @Column({ type: 'text', nullable: true })
  name!: string | null;

  @Column({ name: 'assigned_user_id', type: 'text', nullable: true })
  assignedUserId!: string | null;

  /** When the CRM created the contact (ADR-3: the first-created contact wins a shared address). */
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  /** Removed from the CRM; kept so conversations that reference it stay readable. */
  @Column({ name: 'deleted_at', type: 'timestamptz', nullable: true })
  deletedAt!: Date | null;

  /** Increases with every change; consumers of contact events drop anything older than what they hold. */
  @Column({ type: 'int' })
  revision!: number;
}
