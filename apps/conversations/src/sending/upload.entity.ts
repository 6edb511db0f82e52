import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A file uploaded ahead of a send (too big to inline); its bytes are in the object store. */
@Entity({ schema: 'conversations', name: 'uploads' })
export class UploadEntity {
  @PrimaryColumn({ name: 'location_id', type: 'text' })
  locationId!: string;

  @PrimaryColumn({ name: 'upload_id', type: 'uuid' })
  uploadId!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ type: 'text' })
  filename!: string;

  @Column({ name: 'declared_content_type', type: 'text', nullable: true })
  declaredContentType!: string | null;

  /** What the bytes are (ATT-2), not what the client said. */
  @Column({ name: 'content_type', type: 'text' })
  contentType!: string;

  @Column({ name: 'detected_kind', type: 'text' })
  detectedKind!: string;

  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  size!: number;

  @Column({ name: 'object_key', type: 'text' })
  objectKey!: string;

  @Column({ type: 'text' })
  sha256!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
