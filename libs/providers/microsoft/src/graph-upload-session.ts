// The byte-pushing half of a large Graph attachment: ranged PUTs of at most `chunkBytes` to an upload session's
// pre-authenticated URL (no Authorization header), one chunk in memory at a time.
import type { Readable } from 'node:stream';
import { mapGraphError } from './graph-error.mapper';
import { MicrosoftProviderError } from './provider-error';

export async function uploadInChunks(
  uploadUrl: string,
  file: { size: number; content: Readable },
  options: { chunkBytes: number; timeoutMs: number },
): Promise<void> {
  const { chunkBytes } = options;
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const end = offset + chunk.length - 1;
    let res: Response;
    try {
      res = await fetch(uploadUrl, {
        method: 'PUT',
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `bytes ${offset}-${end}/${file.size}`,
        },
        body: chunk,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw mapGraphError(error, 'attachments.upload');
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status !== 200 && res.status !== 201 && res.status !== 202) {
      throw mapGraphError(
        { statusCode: res.status, headers: res.headers, message: 'upload chunk refused' },
        'attachments.upload',
      );
    }
    offset = end + 1;
  };
  for await (const data of file.content) {
    let buf = data as Buffer;
    while (buf.length > 0) {
      const take = Math.min(buf.length, chunkBytes - pendingBytes);
      pending.push(buf.subarray(0, take));
      pendingBytes += take;
      buf = buf.subarray(take);
      if (pendingBytes === chunkBytes) await flush();
    }
  }
  if (pendingBytes > 0) await flush();
  if (offset !== file.size) {
    throw new MicrosoftProviderError(
      'invalid_request',
      `attachments.upload: sent ${offset} of ${file.size} bytes`,
    );
  }
}
