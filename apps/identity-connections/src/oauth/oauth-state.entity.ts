import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ProviderName } from '@mailbridge/contracts';

/** A started connect flow; deleted when its callback consumes it (single use). */
@Entity({ schema: 'identity_connections', name: 'oauth_states' })
export class OAuthStateEntity {
  @PrimaryColumn({ name: 'state_id', type: 'uuid' })
  stateId!: string;

  @Column({ type: 'text' })
  provider!: ProviderName;

  @Column({ name: 'location_id', type: 'text' })
  locationId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ name: 'return_url', type: 'text' })
  returnUrl!: string;

  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  /** PKCE verifier, encrypted like a token. */
  @Column({ name: 'code_verifier_enc', type: 'text' })
  codeVerifierEnc!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
