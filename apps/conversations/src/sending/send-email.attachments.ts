// A CRM send's attachments before the transaction: inline bytes decoded and typed by content, uploads looked up, then
// the bytes put in the object store (content addressed, so a retried or abandoned put is harmless).
import type { AttachmentRef } from '@mailbridge/contracts';
import { DETECTION_PREFIX_BYTES, detectAttachmentType } from '@mailbridge/domain-mail';
import type { ObjectStore } from '@mailbridge/platform-object-store';
import { AppError } from '@mailbridge/platform-runtime';
import type { SendEmailDto } from './dto/send-email.dto';
import type { UploadEntity } from './upload.entity';
import type { UploadsRepository } from './uploads.repository';

/** An attachment of the request, checked but not yet stored. */
export interface PreparedAttachment {
  readonly filename: string;
  readonly size: number;
  readonly detected: { supported: boolean; kind: string; mimeType: string };
  readonly bytes?: Buffer;
  readonly upload?: UploadEntity;
}

/** Inline bytes are decoded and typed by content; uploads were typed when they arrived. */
export async function prepareAttachments(
  uploadsRepository: Pick<UploadsRepository, 'findMany'>,
  locationId: string,
  body: SendEmailDto,
): Promise<PreparedAttachment[]> {
  const requested = body.attachments ?? [];
  const uploadIds = requested.flatMap((a) => (a.uploadId ? [a.uploadId] : []));
  const uploads = new Map(
    (await uploadsRepository.findMany(locationId, uploadIds)).map((u) => [u.uploadId, u]),
  );
  return requested.map((a, index) => {
    if (a.uploadId !== undefined) {
      if (a.contentBase64 !== undefined) {
        throw new AppError(
          'validation',
          'invalid_attachment',
          `attachments[${index}]: give uploadId or contentBase64, not both`,
        );
      }
      const upload = uploads.get(a.uploadId);
      if (!upload) {
        throw new AppError(
          'not_found',
          'upload_not_found',
          `attachments[${index}]: no such upload in this location`,
          {
            uploadId: a.uploadId,
          },
        );
      }
      return {
        filename: upload.filename,
        size: upload.size,
        detected: { supported: true, kind: upload.detectedKind, mimeType: upload.contentType },
        upload,
      };
    }
    const bytes = Buffer.from(a.contentBase64 ?? '', 'base64');
    const filename = a.filename ?? '';
    const detected = detectAttachmentType(bytes.subarray(0, DETECTION_PREFIX_BYTES), filename);
    return { filename, size: bytes.length, detected, bytes };
  });
}

/** Puts the inline bytes in the object store (uploads are there already); the refs the event carries. */
export async function storeAttachments(
  store: ObjectStore,
  attachments: PreparedAttachment[],
): Promise<AttachmentRef[]> {
  const refs: AttachmentRef[] = [];
  for (const a of attachments) {
    const stored = a.upload
      ? { key: a.upload.objectKey, sha256: a.upload.sha256, size: a.upload.size }
      : await store.put(a.bytes ?? Buffer.alloc(0), { contentType: a.detected.mimeType });
    refs.push({
      objectKey: stored.key,
      filename: a.filename,
      // We are the sender: what we declare is what the bytes are.
      contentType: a.detected.mimeType,
      detectedKind: a.detected.kind,
      size: stored.size,
      sha256: stored.sha256,
    });
  }
  return refs;
}
