import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { ObjectBody } from './object-store.port';

/** Passes bytes through unchanged while computing their SHA-256 and counting them. */
export class Sha256Meter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  // Deliberately not named `size`: @aws-sdk/lib-storage reads `Body.size` as the total length up front.

  /** The hex digest; only valid once all bytes went through. */
  sha256Hex(): string {
    this.digest ??= this.hash.digest('hex');
    return this.digest;
  }

  byteCount(): number {
    return this.bytes;
  }
}

/** A body as a stream; in-memory bytes become a one-chunk stream. */
export function toReadable(body: ObjectBody): Readable {
  if (body instanceof Uint8Array) {
    const buffer = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return Readable.from([buffer]);
  }
  return body;
}

/**
 * Passes bytes through unchanged and fails the stream at its end when they do not hash to `expectedSha256`: a file
 * torn by a crash mid-write under its content key is never read as the object (local store, see its put).
 */
export class Sha256Check extends Transform {
  private readonly hash: Hash = createHash('sha256');

  constructor(
    private readonly expectedSha256: string,
    private readonly mismatch: (actualSha256: string) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    callback(actual === this.expectedSha256 ? null : this.mismatch(actual));
  }
}
