import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { isStorableText, storableText } from '@mailbridge/contracts';
import type { ObjectStore } from '@mailbridge/platform-object-store';
import { AppError } from '@mailbridge/platform-runtime';
import type { ConversationsConfig } from '../conversations.config';
import { CONVERSATIONS_CONFIG, OBJECT_STORE } from '../common/tokens';
import { AttachmentInspector } from './attachment-inspector.transform';
import type { UploadEntity } from './upload.entity';
import { UploadsRepository } from './uploads.repository';

export interface UploadAttachmentCommand {
  readonly locationId: string;
  readonly userId: string;
  readonly filename: string;
  readonly declaredContentType: string | null;
  readonly content: Readable;
}

/**
 * Streams a file into the object store (ATT-3) while checking its type by content (ATT-2) and its size against the
 * largest attachment any provider takes (ATT-1); a refused file is never stored. The bytes are never whole in memory.
 */
@Injectable()
export class UploadAttachmentUseCase {
  constructor(
    private readonly uploads: UploadsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONVERSATIONS_CONFIG) private readonly config: ConversationsConfig,
  ) {}

  async execute(cmd: UploadAttachmentCommand): Promise<UploadEntity> {
    const filename = cmd.filename.trim();
    // A name PostgreSQL cannot hold (NUL, a lone surrogate) is refused like any other unusable name: a clear 400.
    if (!filename || filename.length > 255 || /[\r\n\\/]/.test(filename) || !isStorableText(filename)) {
      cmd.content.resume();
      throw new AppError(
        'validation',
        'invalid_filename',
        'The file needs a plain file name of at most 255 characters',
      );
    }
    const inspector = new AttachmentInspector(filename, this.config.UPLOAD_MAX_BYTES);
    // Listened to from the start: the inspector may refuse the file before the store has begun reading it.
    const refused = new Promise<never>((_, reject) => inspector.once('error', reject));
    cmd.content.once('error', (err) => inspector.destroy(err));
    cmd.content.pipe(inspector);
    const putting = this.store.put(inspector);
    refused.catch(() => undefined);
    putting.catch(() => undefined);
    const stored = await Promise.race([putting, refused]);
    const detected = inspector.detected;
    if (!detected) throw new Error('upload finished without a type decision');
    const upload: UploadEntity = {
      locationId: cmd.locationId,
      uploadId: randomUUID(),
      userId: cmd.userId,
      filename,
      declaredContentType: cmd.declaredContentType && storableText(cmd.declaredContentType),
      contentType: detected.mimeType,
      detectedKind: detected.kind,
      size: stored.size,
      objectKey: stored.key,
      sha256: stored.sha256,
      createdAt: new Date(),
    };
    await this.uploads.insert(upload);
    return upload;
  }
}
