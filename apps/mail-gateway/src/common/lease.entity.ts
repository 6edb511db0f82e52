import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A named, expiring lock held by one replica (a mailbox's provider work: pulls, renewals, stop). */
@Entity({ schema: 'mail_gateway', name: 'leases' })
export class LeaseEntity {
  @PrimaryColumn({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  owner!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
