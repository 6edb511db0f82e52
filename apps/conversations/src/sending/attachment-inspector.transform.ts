import { Transform, type TransformCallback } from 'node:stream';
import {
  DETECTION_PREFIX_BYTES,
  detectAttachmentType,
  formatSize,
  unsupportedAttachmentNote,
  type AttachmentType,
} from '@mailbridge/domain-mail';
import { AppError } from '@mailbridge/platform-runtime';

/**
 * Passes an attachment's bytes through while checking them: it holds back only the first
 * {@link DETECTION_PREFIX_BYTES} to decide the type by content (ATT-2), and fails the stream as soon as the file is of
 * an unsupported type or grows past `maxBytes` (the largest upload; the route's ATT-1 limit is checked when the upload
 * is sent, by `checkAttachments`), so nothing partial or refused is ever stored.
 */
export class AttachmentInspector extends Transform {
  private head: Buffer[] = [];
  private headLength = 0;
  private bytes = 0;
  private type?: AttachmentType;

  constructor(
    private readonly filename: string,
    private readonly maxBytes: number,
  ) {
    super();
  }

  get size(): number {
    return this.bytes;
  }

  /** Known once the first 64 KiB (or the whole, smaller file) went through. */
  get detected(): AttachmentType | undefined {
    return this.type;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(
        new AppError(
          'rule_refusal',
          'attachment_too_large',
          `"${this.filename}" is larger than the ${formatSize(this.maxBytes)} limit for attachments`,
          { limitBytes: this.maxBytes },
        ),
      );
      return;
    }
    if (this.type) {
      callback(null, chunk);
      return;
    }
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < DETECTION_PREFIX_BYTES) callback();
    else this.decide(callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.type) callback();
    else this.decide(callback);
  }

  private decide(callback: TransformCallback): void {
    const head = Buffer.concat(this.head, this.headLength);
    this.head = [];
    this.type = detectAttachmentType(head.subarray(0, DETECTION_PREFIX_BYTES), this.filename);
    if (!this.type.supported) {
      callback(unsupportedType(this.filename));
      return;
    }
    callback(null, head);
  }
}

export function unsupportedType(filename: string): AppError {
  return new AppError(
    'rule_refusal',
    'attachment_type_unsupported',
    unsupportedAttachmentNote(`"${filename}"`),
    { filename },
  );
}
