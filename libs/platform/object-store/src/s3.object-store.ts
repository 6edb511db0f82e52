import { randomUUID } from 'node:crypto';
import { Readable, pipeline } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  contentKeyFor,
  contentPath,
  ObjectIntegrityError,
  ObjectNotFoundError,
  sha256OfKey,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutObjectOptions,
  type StoredObject,
} from './object-store.port';
import { Sha256Meter, toReadable } from './sha256-meter.transform';

export interface S3ObjectStoreConfig {
  bucket: string;
  region: string;
  /** For S3-compatible servers (MinIO, Ceph, a local test server). */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Static credentials; without them the SDK's default provider chain applies (env, web identity, IMDS). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Key prefix for everything this store writes, e.g. `attachments/`. */
  prefix?: string;
  /** Multipart part size in bytes (min 5 MiB). Memory use per put is about partSize * queueSize. */
  partSizeBytes?: number;
  /** Parts uploaded in parallel per put. Default 2. */
  queueSize?: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Copy attempts to a content key before a server error stands (each after the SDK's own retries). */
const COPY_ATTEMPTS = 4;

/**
 * ATT-3 on S3. The key is only known once every byte has been hashed, so a put first streams the bytes to a
 * unique temporary object (`<prefix>tmp/<uuid>`, multipart for large bodies, memory bounded by the part
 * size), then server-side copies the completed temporary object to its content key and deletes the
 * temporary one. A half-written upload therefore never appears under a content key: a failed multipart
 * upload is aborted, and an abandoned temporary object only ever exists under `tmp/` (give that prefix a
 * lifecycle rule expiring objects and incomplete multipart uploads after a day).
 * Single-request CopyObject limits an object to 5 GiB, far above any mail attachment.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(config: S3ObjectStoreConfig, client?: S3Client) {
    this.bucket = config.bucket;
    this.prefix = config.prefix ?? '';
    this.partSize = Math.max(config.partSizeBytes ?? 8 * 1024 * 1024, MIN_PART_SIZE);
    this.queueSize = Math.max(config.queueSize ?? 2, 1);
    this.client =
      client ??
      new S3Client({
        region: config.region,
        ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        ...(config.forcePathStyle !== undefined ? { forcePathStyle: config.forcePathStyle } : {}),
        ...(config.credentials ? { credentials: config.credentials } : {}),
      });
  }

  async put(body: ObjectBody, options: PutObjectOptions = {}): Promise<StoredObject> {
    const tmpKey = `${this.prefix}tmp/${randomUUID()}`;
    const meter = new Sha256Meter();
    // pipeline destroys the meter when the source fails, which makes the upload fail (and abort) too.
    pipeline(toReadable(body), meter, () => undefined);
    let uploaded = false;
    try {
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: tmpKey,
          Body: meter,
          ...(options.contentType ? { ContentType: options.contentType } : {}),
        },
        partSize: this.partSize,
        queueSize: this.queueSize,
        leavePartsOnError: false,
      });
      await upload.done();
      uploaded = true;

      const sha256 = meter.sha256Hex();
      if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
        throw new ObjectIntegrityError(options.expectedSha256, sha256);
      }
      const key = contentKeyFor(sha256);
      const size = meter.byteCount();
      if (await this.holds(key, size)) return { key, sha256, size, created: false };
      const created = await this.copyToContentKey(tmpKey, key, sha256, size, options.contentType);
      return { key, sha256, size, created };
    } finally {
      if (uploaded) {
        await this.client
          .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: tmpKey }))
          .catch(() => undefined);
      }
    }
  }

  async get(key: string): Promise<Readable> {
    const objectKey = this.objectKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      if (!(response.Body instanceof Readable)) throw new Error(`S3 returned no stream for ${key}`);
      return response.Body;
    } catch (error) {
      throw notFoundOr(error, key);
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    const objectKey = this.objectKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return {
        key,
        sha256: sha256OfKey(key),
        size: response.ContentLength ?? 0,
        ...(response.ContentType ? { contentType: response.ContentType } : {}),
      };
    } catch (error) {
      throw notFoundOr(error, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.head(key);
      return true;
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return false;
      throw error;
    }
  }

  /**
   * Copies the finished temporary object to its content key. Writers of the same content race here, and
   * S3-compatible servers may refuse one of two simultaneous writes to a key (a 500 or 503) even after the
   * SDK's retries. The key is content-addressed, so once a complete object of the right size is there the
   * put is done, whoever wrote it; otherwise the copy is tried again a few times before the error stands.
   */
  private async copyToContentKey(
    tmpKey: string,
    key: string,
    sha256: string,
    size: number,
    contentType: string | undefined,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: this.objectKey(key),
            // URL-encoded per segment: '/' must stay a separator for S3-compatible servers.
            CopySource: `${this.bucket}/${tmpKey.split('/').map(encodeURIComponent).join('/')}`,
            MetadataDirective: 'REPLACE',
            ...(contentType ? { ContentType: contentType } : {}),
            Metadata: { sha256 },
          }),
        );
        return true;
      } catch (error) {
        if (!isServerError(error)) throw error;
        await delay(50 * 2 ** attempt);
        if (await this.holds(key, size).catch(() => false)) return false;
        if (attempt >= COPY_ATTEMPTS) throw error;
      }
    }
  }

  /** True when a complete object (its full size) is stored under the content key. */
  private async holds(key: string, size: number): Promise<boolean> {
    try {
      return (await this.head(key)).size === size;
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return false;
      throw error;
    }
  }

  /** Closes the SDK's connection pool (only needed when the store owns the client). */
  destroy(): void {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    return `${this.prefix}${contentPath(key)}`;
  }
}

function isServerError(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.$metadata.httpStatusCode ?? 0) >= 500;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function notFoundOr(error: unknown, key: string): unknown {
  if (error instanceof S3ServiceException) {
    if (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404) {
      return new ObjectNotFoundError(key);
    }
  }
  return error;
}
