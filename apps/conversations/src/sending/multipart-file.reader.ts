import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { AppError } from '@mailbridge/platform-runtime';

export interface IncomingFile {
  readonly filename: string;
  readonly mimeType: string | null;
  readonly stream: Readable;
}

/**
 * Hands the multipart field `file` of a request, as a stream, to `handle`, and settles when both the request is
 * fully read and `handle` finished. Anything else in the body is read and discarded, never buffered; when `handle`
 * fails early (a refused type), the rest of the file is drained so the request still completes.
 */
export function withMultipartFile<T>(
  req: IncomingMessage,
  maxFileBytes: number,
  handle: (file: IncomingFile) => Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        // One byte over the limit is enough for the handler to see the file is too large.
        limits: { files: 1, fields: 10, fieldSize: 1024, parts: 20, fileSize: maxFileBytes + 1 },
      });
    } catch {
      reject(new AppError('validation', 'multipart_required', 'Send the file as multipart/form-data'));
      return;
    }
    let handled: Promise<T> | undefined;
    parser.on('file', (field, stream, info) => {
      if (field !== 'file' || handled) {
        stream.resume();
        return;
      }
      handled = handle({ filename: info.filename ?? '', mimeType: info.mimeType || null, stream });
      handled.catch(() => stream.resume());
    });
    parser.on('error', () => {
      req.unpipe(parser);
      req.resume();
      reject(new AppError('validation', 'invalid_multipart', 'The multipart body could not be read'));
    });
    parser.once('close', () => {
      if (!handled) {
        reject(
          new AppError(
            'validation',
            'upload_file_missing',
            'Send the file in a multipart field named "file"',
          ),
        );
        return;
      }
      handled.then(resolve, reject);
    });
    // A client that goes away mid-upload: the file stream fails, so the store discards what it had.
    req.once('close', () => {
      if (!req.complete) parser.destroy(new Error('request aborted'));
    });
    req.pipe(parser);
  });
}
