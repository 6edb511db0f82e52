import { createHash, randomUUID } from 'node:crypto';
import { closeSync, createWriteStream, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { type FileHandle, link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
import { Sha256Check, Sha256Meter } from './sha256-meter.transform';
import {
  datasyncFd,
  errorCode,
  isNotFound,
  mkdirLeaf,
  mkdirLeafSync,
  notFoundOr,
} from './local-folder.file-calls';

/** How many keys known to be stored are remembered, so a repeated put (a shared attachment) costs no syscall. */
const KNOWN_KEYS = 10_000;

/** A stream that ends within this many bytes is stored like in-memory bytes (one write, no temporary file). */
const SMALL_STREAM_BYTES = 512 * 1024;

/**
 * An object up to this size is opened, written and closed with synchronous calls: to the page cache that blocks the
 * event loop for tens of microseconds for a message (a few hundred at this cap), while the asynchronous calls cost more
 * CPU than the syscalls themselves: thread-pool hops, wake-ups and promises (issue 16, a micro-bench of 8,000 puts:
 * about 20 fewer syscalls and less than half the user CPU per put). With fsync, only the fdatasync, the one call that
 * waits on the disk, goes to the thread pool: one hop per object instead of four. (The local store with fsync serves
 * single-node deployments; a disk saturated by writeback could stall these writes, where S3 is the better choice.)
 */
const SYNC_WRITE_BYTES = 512 * 1024;

/** The fan-out directories (`ab/cd`): one bit each says this process made or met it, 8 KB for all of them. */
const FAN_OUT_DIRS = 256 * 256;

export interface LocalFolderObjectStoreOptions {
  /**
   * fdatasync each object before its put resolves (default true): it then survives a power cut, like a database that
   * fsyncs its commits. Off only where the database does not fsync either (embedded PGlite runs with fsync off):
   * without it an object still survives kill -9 of the process, and a torn one is still never read (see the class).
   */
  readonly fsync?: boolean;
}

/**
 * The embedded default: objects as files under `dir`, fanned out by hash prefix (`dir/sha256/ab/cd/<hex>`).
 *
 * One write per object on the hot path, and no look-up before it (issue 16): in-memory bytes are written straight to
 * their key, created with O_EXCL ('wx': open, write, [fdatasync], close). EEXIST means the content may be stored
 * already. A fan-out directory this process has not met yet is made (mkdir, EEXIST is fine) before its first open,
 * so a fresh store costs no failed open per object; should a known one be missing (removed behind our back), the
 * open's ENOENT makes it and the open is tried again. Small objects are written with synchronous calls but for the
 * fdatasync (same calls, same guarantees; see SYNC_WRITE_BYTES). A crash (kill -9,
 * power cut) or a failed write (disk full) can leave a torn file under a key, so a file is trusted only once its
 * bytes hash to the key:
 * - a later put meeting EEXIST reads and hashes the file (only then: new content costs no read); a torn one, and
 *   with fsync any one (its durability is unknown, see trustsFound), is replaced whole by a complete, synced
 *   temporary file renamed over it (rename is atomic: the key never shows less);
 * - `get` hashes what it streams and fails the stream at its end on a mismatch; `head` and `exists` hash the file.
 * A put resolves only once its bytes are complete under the key, and a reference to a key is committed only after
 * its put, so a committed key names a complete object; the checks above are for what a crash left unreferenced.
 * A stream ending within SMALL_STREAM_BYTES (most attachments) is read into memory and stored like bytes; a larger
 * one, whose hash is known only at its end, goes through a temporary file in `dir/tmp/` linked under the key.
 * Puts of the same content in one process share one write; keys stored by this process are remembered, so a repeated
 * put costs no syscall.
 *
 * The content type is not kept: nothing reads it back from this store (`head` has no `contentType`); every reader
 * of an object knows its type from the event or row that names the key.
 */
export class LocalFolderObjectStore implements ObjectStore {
  private readonly tmpDir: string;
  private readonly fsync: boolean;
  private readonly dirs = new Map<string, Promise<void>>();
  private readonly fanOutDirs = new Uint8Array(FAN_OUT_DIRS / 8);
  private readonly known = new Set<string>();
  private readonly inFlight = new Map<string, Promise<StoredObject>>();

  constructor(
    private readonly dir: string,
    options: LocalFolderObjectStoreOptions = {},
  ) {
    this.tmpDir = join(dir, 'tmp');
    this.fsync = options.fsync ?? true;
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
    const sha256 = sha256OfKey(key);
    let file: Readable;
    try {
      // Opening first turns a missing object into a rejection here rather than a stream error later.
      file = (await open(path, 'r')).createReadStream();
    } catch (error) {
      throw notFoundOr(error, key);
    }
    const check = new Sha256Check(sha256, (actual) => new ObjectIntegrityError(sha256, actual));
    file.on('error', (error) => check.destroy(error));
    return file.pipe(check);
  }

  async head(key: string): Promise<ObjectInfo> {
    const size = await this.storedSize(key);
    if (size === undefined) throw new ObjectNotFoundError(key);
    return { key, sha256: sha256OfKey(key), size };
  }

  async exists(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    if (this.known.has(key)) return true;
    return (await this.storedSize(key, path)) !== undefined;
  }

  /** The size of the complete object under `key`; undefined when there is none (absent, or torn by a crash). */
  private async storedSize(key: string, path = this.pathOf(key)): Promise<number | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    return createHash('sha256').update(bytes).digest('hex') === sha256OfKey(key) ? bytes.length : undefined;
  }

  private async putBytes(bytes: Buffer, options: PutObjectOptions): Promise<StoredObject> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
      throw new ObjectIntegrityError(options.expectedSha256, sha256);
    }
    const key = contentKeyFor(sha256);
    return this.once({ key, sha256, size: bytes.length }, async (target) => {
      if (await this.writeNew(target, bytes, fanOutOf(sha256))) return true;
      const complete = (await this.storedSize(key, target)) === bytes.length;
      if (complete && this.trustsFound) return false;
      // Torn by a crash, or complete but maybe never on disk (see trustsFound): a synced copy replaces it in one rename.
      const tmp = await this.tmpPath();
      try {
        await this.writeNew(tmp, bytes);
        await rename(tmp, target);
        return !complete;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    });
  }

  /**
   * Writes `bytes` to a new file at `path` (false when a file is there already). `fanOut` names the object's fan-out
   * directory, made first if this process has not met it (none for a temporary file: `dir/tmp` is made already). A
   * failed write leaves its torn file: it is never read as the object and the next put repairs it, whereas removing
   * it could remove a complete copy another process renamed over it meanwhile.
   */
  private async writeNew(path: string, bytes: Buffer, fanOut?: number): Promise<boolean> {
    if (bytes.length <= SYNC_WRITE_BYTES) return this.writeNewSmall(path, bytes, fanOut);
    if (fanOut !== undefined && !this.metFanOut(fanOut)) {
      await mkdirLeaf(dirname(path));
      this.markFanOut(fanOut);
    }
    let handle: FileHandle;
    for (let attempt = 0; ; attempt++) {
      try {
        handle = await open(path, 'wx');
        break;
      } catch (error) {
        if (errorCode(error) === 'EEXIST') return false;
        if (errorCode(error) !== 'ENOENT' || attempt > 0) throw error;
      }
      await mkdir(dirname(path), { recursive: true });
    }
    try {
      await handle.writeFile(bytes);
      if (this.fsync) await handle.datasync();
    } finally {
      await handle.close();
    }
    return true;
  }

  /**
   * `writeNew` for an object up to SYNC_WRITE_BYTES: the same open(wx), write, [fdatasync], close, in the same order,
   * with synchronous calls but for the fdatasync.
   */
  private async writeNewSmall(path: string, bytes: Buffer, fanOut?: number): Promise<boolean> {
    if (fanOut !== undefined && !this.metFanOut(fanOut)) {
      mkdirLeafSync(dirname(path));
      this.markFanOut(fanOut);
    }
    let fd: number;
    for (let attempt = 0; ; attempt++) {
      try {
        fd = openSync(path, 'wx');
        break;
      } catch (error) {
        if (errorCode(error) === 'EEXIST') return false;
        if (errorCode(error) !== 'ENOENT' || attempt > 0) throw error;
      }
      mkdirSync(dirname(path), { recursive: true });
    }
    try {
      writeFileSync(fd, bytes);
      if (this.fsync) await datasyncFd(fd);
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /**
   * Whether a complete file found under a key may be taken as stored. Without fsync, yes. With fsync, no: its writer
   * may have died before its fdatasync, or its fdatasync may have failed, and on Linux a failed writeback marks the
   * pages clean, so a second fdatasync through a new descriptor answers success for bytes that never reached the disk
   * (PostgreSQL's "fsyncgate"). It is replaced by a copy synced here; this costs a write only when the same content
   * was put before by a crashed or failed put, or by another process (a shared attachment).
   */
  private get trustsFound(): boolean {
    return !this.fsync;
  }

  private metFanOut(index: number): boolean {
    return (this.fanOutDirs[index >> 3] & (1 << (index & 7))) !== 0;
  }

  private markFanOut(index: number): void {
    this.fanOutDirs[index >> 3] |= 1 << (index & 7);
  }

  /** Small streams (most attachments) are read into memory and stored as bytes; the rest go through a temporary file. */
  private async putStream(body: Readable, options: PutObjectOptions): Promise<StoredObject> {
    const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const head: Buffer[] = [];
    let size = 0;
    while (size <= SMALL_STREAM_BYTES) {
      const next = await chunks.next();
      if (next.done) return this.putBytes(Buffer.concat(head, size), options);
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      head.push(chunk);
      size += chunk.length;
    }
    return this.putLargeStream(
      Readable.from(
        (async function* () {
          try {
            yield* head;
            for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
          } finally {
            await chunks.return?.(); // a failed write stops the source too, as a pipeline would
          }
        })(),
      ),
      options,
    );
  }

  private async putLargeStream(body: Readable, options: PutObjectOptions): Promise<StoredObject> {
    const tmp = await this.tmpPath();
    try {
      const meter = new Sha256Meter();
      // `flush` fsyncs before close: the bytes are on disk before the object becomes visible.
      await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx', flush: this.fsync }));
      const sha256 = meter.sha256Hex();
      if (options.expectedSha256 && options.expectedSha256.toLowerCase() !== sha256) {
        throw new ObjectIntegrityError(options.expectedSha256, sha256);
      }
      const key = contentKeyFor(sha256);
      const size = meter.byteCount();
      return await this.once({ key, sha256, size }, async (target) => {
        if (await this.linkInPlace(tmp, target)) return true;
        const complete = (await this.storedSize(key, target)) === size;
        if (complete && this.trustsFound) return false;
        // `tmp` is synced already: it replaces what is there in one rename (see trustsFound).
        await rename(tmp, target);
        return !complete;
      });
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
   * Makes the complete file `tmp` visible as `target` unless a file is there (false then): link(2) fails with EEXIST
   * rather than replace. Its directory is made only when the link says it is missing.
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

/** The index of an object's fan-out directory (`ab/cd`): its hash's first four hex digits. */
function fanOutOf(sha256: string): number {
  return Number.parseInt(sha256.slice(0, 4), 16);
}
