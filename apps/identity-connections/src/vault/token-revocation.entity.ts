import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ProviderName } from '@mailbridge/contracts';

/** Tokens of an ended connection, kept encrypted only until the provider has confirmed the revocation (CON-4). */
@Entity({ schema: 'identity_connections', name: 'token_revocations' })
export class TokenRevocationEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'uuid' })
  connectionId!: string;

  @Column({ type: 'text' })
  provider!: ProviderName;

  @Column({ name: 'mailbox_key', type: 'text' })
  mailboxKey!: string;

  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  @Column({ name: 'secret_enc', type: 'text' })
  secretEnc!: string;

  @Column({ type: 'int' })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz' })
  nextAttemptAt!: Date;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
