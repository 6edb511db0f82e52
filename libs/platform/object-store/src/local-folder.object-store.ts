import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  contentKeyFor,
  contentPath,
  ObjectIntegrityError,
  ObjectNotFoundError,
  type ObjectBody,
  type ObjectInfo,
  type ObjectStore,
  type PutObjectOptions,
  type StoredObject,
} from './object-store.port';
import { Sha256Meter } from './sha256-meter.transform';

/** How many keys known to be stored are remembered, so a repeated put (a shared attachment) costs no syscall. */
const KNOWN_KEYS = 10_000;

/**
 * The embedded default: objects as files under `dir`, fanned out by hash prefix (`dir/sha256/ab/cd/<hex>`).
 *
 * One write per object on the hot path: in-memory bytes are hashed first, so content already stored is not written
 * at all; new content is written once to a temporary name beside its final one, fsynced, and renamed into place.
 * Streams (size unknown) go through `dir/tmp/` the same way. Directories are created once per process. A rename is
 * atomic, so an object is either absent or complete under its key: a crash (even kill -9) mid-write leaves at most a
 * `*.part` file, which is never a content key and is never read. Puts of the same content in one process share one
 * write (`created` is exact there); across processes two first puts may both write the same bytes, harmlessly.
 *
 * The content type is not kept: nothing reads it back from this store (`head` has no `contentType`); every reader
 * of an object knows its type from the event or row that names the key.
 */
export class LocalFolderObjectStore implements ObjectStore {
  private readonly tmpDir: string;
  private readonly dirs = new Map<string, Promise<void>>();
  private readonly known = new Set<string>();
  private readonly inFlight = new Map<string, Promise<StoredObject>>();

  constructor(private readonly dir: string) {
    this.tmpDir = join(dir, 'tmp');
  }

  async put(body: ObjectBody, options: PutObjectOptions = {}): Promise<StoredObject> {
    if (body instanceof Uint8Array) {
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      return this.putBytes(bytes, options);
    }
    return this.putStream(body, options);
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      // Opening first turns a missing object into a rejection here rather than a stream error later.
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (error) {
      throw notFoundOr(error, key);
    }
  }

  async head(key: string): Promise<ObjectInfo> {
    const path = this.pathOf(key);
    try {
      const info = await stat(path);
      return { key, sha256: key.slice('sha256-'.length), size: info.size };
    } catch (error) {
      throw notFoundOr(error, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    if (this.known.has(key)) return true;
    try {
      await stat(path);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async putBytes(bytes: Buffer, options: PutObjectOptions): Promise<StoredObject> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
      throw new ObjectIntegrityError(options.expectedSha256, sha256);
    }
    const key = contentKeyFor(sha256);
    return this.once({ key, sha256, size: bytes.length }, async (target) => {
      // Beside the target: the rename stays in one directory, and the name is never a content key.
      const tmp = `${target}.${randomUUID()}.part`;
      try {
        const handle = await open(tmp, 'wx');
        try {
          await handle.writeFile(bytes);
          // The bytes are on disk before the object becomes visible (a power cut never shows a torn object).
          await handle.datasync();
        } finally {
          await handle.close();
        }
        await rename(tmp, target);
      } catch (error) {
        await unlink(tmp).catch(() => undefined);
        throw error;
      }
    });
  }

  private async putStream(body: Readable, options: PutObjectOptions): Promise<StoredObject> {
    await this.ensureDir(this.tmpDir);
    const tmp = join(this.tmpDir, `${randomUUID()}.part`);
    let moved = false;
    try {
      const meter = new Sha256Meter();
      // `flush` fsyncs before close: the bytes are on disk before the object becomes visible.
      await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx', flush: true }));
      const sha256 = meter.sha256Hex();
      if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
        throw new ObjectIntegrityError(options.expectedSha256, sha256);
      }
      return await this.once(
        { key: contentKeyFor(sha256), sha256, size: meter.byteCount() },
        async (target) => {
          await rename(tmp, target);
          moved = true;
        },
      );
    } finally {
      if (!moved) await unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * Makes `key` visible with `write` unless it already is; puts of one key in this process share one write. The
   * in-flight entry is set before the first await, so two puts never both find the key absent and both write.
   */
  private once(
    stored: Omit<StoredObject, 'created'>,
    write: (target: string) => Promise<void>,
  ): Promise<StoredObject> {
    const { key } = stored;
    const running = this.inFlight.get(key);
    if (running)
      return running.then(
        () => ({ ...stored, created: false }),
        () => this.once(stored, write),
      );
    const work = (async (): Promise<StoredObject> => {
      if (await this.exists(key)) return { ...stored, created: false };
      const target = this.pathOf(key);
      await this.ensureDir(dirname(target));
      await write(target);
      this.remember(key);
      return { ...stored, created: true };
    })();
    this.inFlight.set(key, work);
    const clear = () => {
      if (this.inFlight.get(key) === work) this.inFlight.delete(key);
    };
    work.then(clear, clear);
    return work;
  }

  private pathOf(key: string): string {
    // contentPath validates the key, so nothing like "../../etc/passwd" reaches the file system.
    return join(this.dir, contentPath(key));
  }

  /** mkdir once per directory per process (a failed one is tried again next time). */
  private ensureDir(path: string): Promise<void> {
    let made = this.dirs.get(path);
    if (!made) {
      made = mkdir(path, { recursive: true }).then(() => undefined);
      made.catch(() => this.dirs.delete(path));
      this.dirs.set(path, made);
    }
    return made;
  }

  private remember(key: string): void {
    if (this.known.size >= KNOWN_KEYS) this.known.clear();
    this.known.add(key);
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

function isNotFound(error: unknown): boolean {
  return errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR';
}

function notFoundOr(error: unknown, key: string): unknown {
  return isNotFound(error) ? new ObjectNotFoundError(key) : error;
}
