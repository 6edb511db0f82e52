import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Metadata of a message's attachment; the bytes are in the object store under `objectKey` (ATT-3). */
@Entity({ schema: 'conversations', name: 'attachments' })
export class AttachmentEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'attachment_id', type: 'uuid' })
  attachmentId!: string;

  @Column({ name: 'message_id', type: 'uuid' })
  messageId!: string;

  @Column({ type: 'int' })
  position!: number;

  @Column({ type: 'text' })
  filename!: string;

  /** As the sender declared it; downloads use the type detected from the content. */
  @Column({ name: 'content_type', type: 'text' })
  contentType!: string;

  @Column({ name: 'detected_kind', type: 'text', nullable: true })
  detectedKind!: string | null;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  size!: number;

  /** Null when the bytes were left behind (ATT-1 strip, ATT-2): `omittedReason` says why. */
  @Column({ name: 'object_key', type: 'text', nullable: true })
  objectKey!: string | null;

  @Column({ type: 'text', nullable: true })
  sha256!: string | null;

  @Column({ name: 'content_id', type: 'text', nullable: true })
  contentId!: string | null;

  @Column({ type: 'boolean' })
  inline!: boolean;

  @Column({ name: 'omitted_reason', type: 'text', nullable: true })
  omittedReason!: string | null;
}
