import { Column, Entity, PrimaryColumn } from 'typeorm';

/** SND-6: what a send with this key was, and what it answered, so a retry gets the same answer. */
@Entity({ schema: 'conversations', name: 'idempotency_keys' })
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'idempotency_key', type: 'text' })
  idempotencyKey!: string;

  /** SHA-256 of the canonical request (contact + body): the same key with another body is a conflict. */
  @Column({ name: 'request_hash', type: 'text' })
  requestHash!: string;

  @Column({ name: 'message_id', type: 'uuid' })
  messageId!: string;

  @Column({ type: 'jsonb' })
  response!: { messageId: string; conversationId: string; status: 'pending' };

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
