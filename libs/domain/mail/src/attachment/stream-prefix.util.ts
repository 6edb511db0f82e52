import type { Readable } from 'node:stream';
import { DETECTION_PREFIX_BYTES } from './attachment-type.detector';

/**
 * Reads the first `bytes` of a stream (fewer if it ends sooner) and then stops reading it, e.g. to run
 * `detectAttachmentType` on an object-store stream without downloading the whole file. The stream is
 * destroyed afterwards unless it ended by itself: open a new one to read the content.
 */
export async function readPrefix(stream: Readable, bytes: number = DETECTION_PREFIX_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      chunks.push(buffer);
      length += buffer.length;
      // Leaving the loop early destroys the stream, which is what we want once we have enough.
      if (length >= bytes) break;
    }
  } finally {
    if (!stream.destroyed && !stream.readableEnded) stream.destroy();
  }
  return Buffer.concat(chunks, length).subarray(0, bytes);
}
