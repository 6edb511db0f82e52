import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { Sha256Meter, toReadable } from './sha256-meter.transform';

interface ObjectMeta {
  contentType?: string;
}

/**
 * The embedded default: objects as files under `dir`, fanned out by hash prefix
 * (`dir/sha256/ab/cd/<hex>`). A put streams into `dir/tmp/` (same file system), fsyncs, then hard-links the
 * file into place, so an object is either absent or complete under its key, and exactly one of several
 * concurrent puts of the same bytes creates it. Where hard links are not supported it falls back to an
 * atomic rename (still never partial; `created` is then best effort).
 */
export class LocalFolderObjectStore implements ObjectStore {
  private readonly tmpDir: string;

  constructor(private readonly dir: string) {
    this.tmpDir = join(dir, 'tmp');
  }

  async put(body: ObjectBody, options: PutObjectOptions = {}): Promise<StoredObject> {
    await mkdir(this.tmpDir, { recursive: true });
    const tmpPath = join(this.tmpDir, `${randomUUID()}.part`);
    const meter = new Sha256Meter();
    try {
      // `flush` fsyncs before close: the bytes are on disk before the object becomes visible.
      await pipeline(toReadable(body), meter, createWriteStream(tmpPath, { flags: 'wx', flush: true }));
      const sha256 = meter.sha256Hex();
      if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
        throw new ObjectIntegrityError(options.expectedSha256, sha256);
      }
      const key = contentKeyFor(sha256);
      const target = this.pathOf(key);
      await mkdir(join(target, '..'), { recursive: true });
      if (options.contentType) await this.writeMetaOnce(target, { contentType: options.contentType });
      const created = await this.linkIntoPlace(tmpPath, target);
      return { key, sha256, size: meter.byteCount(), created };
    } finally {
      await unlink(tmpPath).catch(() => undefined);
    }
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
      const meta = await this.readMeta(path);
      const sha256 = key.slice('sha256-'.length);
      return { key, sha256, size: info.size, ...(meta.contentType ? { contentType: meta.contentType } : {}) };
    } catch (error) {
      throw notFoundOr(error, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.pathOf(key));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private pathOf(key: string): string {
    // contentPath validates the key, so nothing like "../../etc/passwd" reaches the file system.
    return join(this.dir, contentPath(key));
  }

  /** True when this call made the object visible, false when the same content was already there. */
  private async linkIntoPlace(tmpPath: string, target: string): Promise<boolean> {
    try {
      await link(tmpPath, target);
      return true;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(errorCode(error) ?? ''))
        throw error;
    }
    const existed = await stat(target).then(
      () => true,
      () => false,
    );
    if (existed) return false;
    await rename(tmpPath, target);
    return true;
  }

  private async writeMetaOnce(target: string, meta: ObjectMeta): Promise<void> {
    const metaPath = `${target}.meta.json`;
    const tmp = join(this.tmpDir, `${randomUUID()}.meta`);
    await writeFile(tmp, JSON.stringify(meta));
    try {
      await link(tmp, metaPath);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') await rename(tmp, metaPath).catch(() => undefined);
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  private async readMeta(target: string): Promise<ObjectMeta> {
    try {
      return JSON.parse(await readFile(`${target}.meta.json`, 'utf8')) as ObjectMeta;
    } catch {
      return {};
    }
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
