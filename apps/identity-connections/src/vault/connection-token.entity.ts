import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The vault row of a live connection: an encrypted envelope, plus the access token's expiry (not a secret). */
@Entity({ schema: 'identity_connections', name: 'connection_tokens' })
export class ConnectionTokenEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  @Column({ name: 'secret_enc', type: 'text' })
  secretEnc!: string;

  @Column({ name: 'access_expires_at', type: 'timestamptz' })
  accessExpiresAt!: Date;

  @Column({ name: 'refreshed_at', type: 'timestamptz' })
  refreshedAt!: Date;
}
