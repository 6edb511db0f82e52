import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, stat, unlink } from 'node:fs/promises';
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
 * One write per object on the hot path, and no look-up before it (issue 16): the bytes are written once to a
 * temporary file in `dir/tmp/` (created once per process), fsynced, then linked under their key. link(2) never
 * replaces a file: EEXIST means the content was stored before (`created: false`, the stored file untouched), ENOENT
 * means its fan-out directory is missing (created then, and the link tried again). The temporary name is removed
 * either way. An object is therefore either absent or complete under its key: a crash (even kill -9) mid-write
 * leaves at most a `tmp/*.part` file, which is never a content key and is never read. Puts of the same content in
 * one process share one write; keys stored by this process are remembered, so a repeated put costs no syscall.
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
      const tmp = await this.tmpPath();
      try {
        const handle = await open(tmp, 'wx');
        try {
          await handle.writeFile(bytes);
          // The bytes are on disk before the object becomes visible (a power cut never shows a torn object).
          await handle.datasync();
        } finally {
          await handle.close();
        }
        return await this.linkInPlace(tmp, target);
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    });
  }

  private async putStream(body: Readable, options: PutObjectOptions): Promise<StoredObject> {
    const tmp = await this.tmpPath();
    try {
      const meter = new Sha256Meter();
      // `flush` fsyncs before close: the bytes are on disk before the object becomes visible.
      await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx', flush: true }));
      const sha256 = meter.sha256Hex();
      if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
        throw new ObjectIntegrityError(options.expectedSha256, sha256);
      }
      return await this.once({ key: contentKeyFor(sha256), sha256, size: meter.byteCount() }, (target) =>
        this.linkInPlace(tmp, target),
      );
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** A fresh temporary name in `dir/tmp/` (the directory made once per process). */
  private async tmpPath(): Promise<string> {
    await this.ensureDir(this.tmpDir);
    return join(this.tmpDir, `${randomUUID()}.part`);
  }

  /**
   * Makes the complete file `tmp` visible as `target` unless it already is (false then): link(2) fails with EEXIST
   * rather than replace, so stored content keeps its file. Its directory is made only when the link says it is missing.
   */
  private async linkInPlace(tmp: string, target: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, target);
        return true;
      } catch (error) {
        if (errorCode(error) === 'EEXIST') return false;
        if (errorCode(error) !== 'ENOENT' || attempt > 0) throw error;
      }
      await mkdir(dirname(target), { recursive: true });
    }
  }

  /**
   * Makes `key` visible with `write` (true when it created the object) unless this process stored it already; puts
   * of one key in this process share one write. The in-flight entry is set before the first await, so two puts
   * never both write.
   */
  private once(
    stored: Omit<StoredObject, 'created'>,
    write: (target: string) => Promise<boolean>,
  ): Promise<StoredObject> {
    const { key } = stored;
    const running = this.inFlight.get(key);
    if (running)
      return running.then(
        () => ({ ...stored, created: false }),
        () => this.once(stored, write),
      );
    const work = (async (): Promise<StoredObject> => {
      if (this.known.has(key)) return { ...stored, created: false };
      const created = await write(this.pathOf(key));
      this.remember(key);
      return { ...stored, created };
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
