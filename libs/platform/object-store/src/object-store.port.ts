import type { Readable } from 'node:stream';

/** Bytes to store: a stream (never buffered whole) or bytes already in memory. */
export type ObjectBody = Readable | Buffer | Uint8Array;

export interface PutObjectOptions {
  /** Recorded with the object the first time its content is stored; later puts of the same bytes keep it. */
  contentType?: string;
  /**
   * When the caller already knows the SHA-256 (e.g. from the MIME parser), the put fails with
   * {@link ObjectIntegrityError} if the bytes do not match, and nothing is stored.
   */
  expectedSha256?: string;
}

export interface StoredObject {
  /** The content address: `sha256-<hex>`, the same for the same bytes in every store. */
  key: string;
  /** Lower-case hex SHA-256 of the bytes. */
  sha256: string;
  size: number;
  /**
   * False when the content was already stored and nothing new was written. The local store decides this
   * exactly (hard link); S3 on a best-effort basis (two racing first puts may both say true).
   */
  created: boolean;
}

export interface ObjectInfo {
  key: string;
  sha256: string;
  size: number;
  contentType?: string;
}

/**
 * ATT-3: content-addressed storage for attachment bytes. The key is derived from the SHA-256 of the bytes,
 * so each content is stored once; objects are immutable and never partially visible under their key.
 */
export interface ObjectStore {
  /** Streams the body in, hashing on the way, and makes it visible under its content key only when complete. */
  put(body: ObjectBody, options?: PutObjectOptions): Promise<StoredObject>;
  /** A stream of the object's bytes. Rejects with {@link ObjectNotFoundError} for an unknown key. */
  get(key: string): Promise<Readable>;
  /** Size and content type. Rejects with {@link ObjectNotFoundError} for an unknown key. */
  head(key: string): Promise<ObjectInfo>;
  exists(key: string): Promise<boolean>;
}

export type ObjectStoreErrorCode = 'object_not_found' | 'invalid_object_key' | 'object_integrity';

export class ObjectStoreError extends Error {
  constructor(
    readonly code: ObjectStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ObjectNotFoundError extends ObjectStoreError {
  constructor(readonly key: string) {
    super('object_not_found', `No object stored under ${key}`);
  }
}

export class InvalidObjectKeyError extends ObjectStoreError {
  constructor(readonly key: string) {
    super('invalid_object_key', `Not a content key: ${JSON.stringify(key).slice(0, 100)}`);
  }
}

export class ObjectIntegrityError extends ObjectStoreError {
  constructor(
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super('object_integrity', `Content hash mismatch: expected ${expectedSha256}, got ${actualSha256}`);
  }
}

const KEY = /^sha256-([0-9a-f]{64})$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The content key for a SHA-256 (hex, either case), e.g. to look up an attachment whose hash is known. */
export function contentKeyFor(sha256: string): string {
  const hex = sha256.toLowerCase();
  if (!SHA256_HEX.test(hex)) throw new InvalidObjectKeyError(sha256);
  return `sha256-${hex}`;
}

/** The SHA-256 inside a content key; throws {@link InvalidObjectKeyError} for anything else (e.g. `../x`). */
export function sha256OfKey(key: string): string {
  const match = KEY.exec(key);
  if (!match) throw new InvalidObjectKeyError(key);
  return match[1];
}

export function isContentKey(key: string): boolean {
  return KEY.test(key);
}

/** Fan-out path of a content key: `sha256/ab/cd/<hex>`, so no folder / prefix holds millions of entries. */
export function contentPath(key: string): string {
  const hex = sha256OfKey(key);
  return `sha256/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`;
}
