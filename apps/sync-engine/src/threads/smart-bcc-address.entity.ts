import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Smart-BCC addresses seen so far (BCC-1): stripped from every recorded message, never matched as contacts. */
@Entity({ schema: 'sync_engine', name: 'smart_bcc_address' })
export class SmartBccAddressEntity {
  @PrimaryColumn({ type: 'text' })
  address!: string;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ name: 'learned_at', type: 'timestamptz' })
  learnedAt!: Date;
}
