import { Column, Entity, PrimaryColumn } from 'typeorm';

/** BCC-1: the Auto-BCC address of one user in one location (the domain comes from configuration). */
@Entity({ schema: 'identity_connections', name: 'smart_bcc_addresses' })
export class SmartBccAddressEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'user_id', type: 'text' })
  userId!: string;

  /** ≥128 random bits, base32 (lower case: mail systems may fold the case of local parts). */
  @Column({ name: 'local_part', type: 'text' })
  localPart!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
