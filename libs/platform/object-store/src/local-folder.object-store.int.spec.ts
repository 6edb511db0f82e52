import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp, { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { LocalFolderObjectStore } from './local-folder.object-store';
import { ObjectIntegrityError, ObjectNotFoundError } from './object-store.port';
import { describeObjectStoreContract, type ObjectStoreHarness } from './object-store.contract-suite';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

let dir: string;
let harness: ObjectStoreHarness;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailbridge-objects-'));
  harness = { store: new LocalFolderObjectStore(dir), listRaw: () => listFiles(dir) };
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeObjectStoreContract('LocalFolderObjectStore', () => harness);

describe('LocalFolderObjectStore layout', () => {
  it('ATT-3: fans objects out by hash prefix; one file per object, no side files, no temporary files left', async () => {
    const stored = await harness.store.put(Buffer.from('hello'), { contentType: 'text/plain' });
    const streamed = await harness.store.put(Readable.from([Buffer.from('world')]), {
      contentType: 'text/plain',
    });
    const path = (hex: string) => `sha256/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`;
    expect(await listFiles(dir)).toEqual([path(stored.sha256), path(streamed.sha256)].sort());
  });

  it('content already stored is not written again without fsync (the file keeps its inode and mtime)', async () => {
    const bytes = Buffer.from('same bytes twice');
    const first = await new LocalFolderObjectStore(dir, { fsync: false }).put(bytes);
    const file = join(dir, `sha256/${first.sha256.slice(0, 2)}/${first.sha256.slice(2, 4)}/${first.sha256}`);
    const before = await stat(file);
    // A second store on the same folder (a restarted process) knows nothing in memory: it still does not rewrite.
    // (With fsync it does, once: see "a complete file found under a key is replaced by a synced copy".)
    const again = await new LocalFolderObjectStore(dir, { fsync: false }).put(bytes);
    const after = await stat(file);
    expect(again.created).toBe(false);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('kill -9 mid-write never leaves a torn object that is later read as valid', async () => {
    const chunks = 200;
    const child = spawn(
      process.execPath,
      [
        join(__dirname, '../../../../tools/run-ts.cjs'),
        join(__dirname, 'testing/crash-writer.fixture.ts'),
        dir,
        String(chunks),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    // Wait until the write is well under way (a partial file of some size exists), then kill the writer hard.
    const deadline = Date.now() + 30_000;
    let partial: string | undefined;
    while (!partial && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      for (const f of await listFiles(dir)) {
        if (f.endsWith('.part') && (await stat(join(dir, f)).catch(() => undefined))?.size) partial = f;
      }
    }
    expect(partial).toBeDefined();
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const hash = createHash('sha256');
    for (let i = 0; i < chunks; i++) hash.update(Buffer.alloc(256 * 1024, i % 251));
    const key = `sha256-${hash.digest('hex')}`;
    const store = new LocalFolderObjectStore(dir);
    expect(await store.exists(key)).toBe(false);
    await expect(store.get(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
    // Only the partial file remains, under a name that is no content key.
    const left = await listFiles(dir);
    expect(left.every((f) => f.endsWith('.part'))).toBe(true);
    // The same content put again afterwards is stored whole and correct.
    const whole = Buffer.concat(Array.from({ length: chunks }, (_, i) => Buffer.alloc(256 * 1024, i % 251)));
    const stored = await store.put(whole);
    expect(stored).toMatchObject({ key, created: true, size: whole.length });
  }, 60_000);

  it('ATT-3: exactly one of several concurrent first puts in one process creates the object', async () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024, 7);
    const results = await Promise.all(Array.from({ length: 8 }, () => harness.store.put(bytes)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('issue 16: a put of new content is one open(wx), write, fdatasync, close: no look-up, no link; a fan-out directory not met yet is made before the open', async () => {
    const spies = {
      ...Object.fromEntries(
        (['stat', 'mkdir', 'link', 'rename', 'open', 'readFile', 'unlink'] as const).map((f) => [
          f,
          jest.spyOn(fsp, f),
        ]),
      ),
      mkdirSync: jest.spyOn(fs, 'mkdirSync'),
      openSync: jest.spyOn(fs, 'openSync'),
      fdatasync: jest.spyOn(fs, 'fdatasync'),
    };
    const calls = () =>
      Object.fromEntries(Object.entries(spies).map(([f, spy]) => [f, spy.mock.calls.length]));
    const none = { stat: 0, mkdir: 0, link: 0, rename: 0, open: 0, readFile: 0, unlink: 0 };
    try {
      const first = await harness.store.put(Buffer.from('first object'));
      // The fan-out directory first (this store has not met it; in an empty folder its parent is missing too, so
      // the mkdir is tried again with parents), then the open that writes: no failed open.
      expect(calls()).toEqual({ ...none, mkdirSync: 2, openSync: 1, fdatasync: 1 });
      // Its twin, as another process without fsync would put it: mkdir meets EEXIST, so does the open, so the stored
      // file is read, hashed and kept.
      const again = await new LocalFolderObjectStore(dir, { fsync: false }).put(Buffer.from('first object'));
      expect(calls()).toEqual({ ...none, readFile: 1, mkdirSync: 3, openSync: 2, fdatasync: 1 });
      expect([first.created, again.created]).toEqual([true, false]);
      expect(await listFiles(dir)).toEqual([
        `sha256/${first.sha256.slice(0, 2)}/${first.sha256.slice(2, 4)}/${first.sha256}`,
      ]);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('issue 16: a small stream (an attachment) is stored like bytes: one open(wx), no temporary file', async () => {
    const opens = jest.spyOn(fs, 'openSync');
    const asyncOpens = jest.spyOn(fsp, 'open');
    const links = jest.spyOn(fsp, 'link');
    try {
      const stored = await harness.store.put(
        Readable.from([Buffer.from('small '), Buffer.from('attachment')]),
      );
      expect(opens).toHaveBeenCalledTimes(1); // the fan-out directory is made first
      expect(opens.mock.calls.every(([path]) => String(path).endsWith(stored.sha256))).toBe(true);
      expect(asyncOpens).not.toHaveBeenCalled();
      expect(links).not.toHaveBeenCalled();
      expect(stored).toMatchObject({ created: true, size: 'small attachment'.length });
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('issue 16: without fsync a small object is written with synchronous calls, and a fan-out directory is made once per process', async () => {
    const [a, b] = twoInOneFanOut();
    const spies = Object.fromEntries(
      (['mkdirSync', 'openSync', 'writeFileSync', 'closeSync'] as const).map((f) => [f, jest.spyOn(fs, f)]),
    );
    const asyncOpen = jest.spyOn(fsp, 'open');
    const asyncMkdir = jest.spyOn(fsp, 'mkdir');
    const calls = () =>
      Object.fromEntries(Object.entries(spies).map(([f, spy]) => [f, spy.mock.calls.length]));
    try {
      const store = new LocalFolderObjectStore(dir, { fsync: false });
      expect(await store.put(a)).toMatchObject({ created: true, size: a.length });
      // mkdir of the fan-out directory (ENOENT in an empty folder, so again with parents), then the write.
      expect(calls()).toEqual({ mkdirSync: 2, openSync: 1, writeFileSync: 1, closeSync: 1 });
      expect(spies.openSync.mock.calls[0].slice(1)).toEqual(['wx']);
      // Another object in the same fan-out directory: no mkdir now.
      expect(await store.put(b)).toMatchObject({ created: true, size: b.length });
      expect(calls()).toEqual({ mkdirSync: 2, openSync: 2, writeFileSync: 2, closeSync: 2 });
      expect([asyncOpen, asyncMkdir].map((spy) => spy.mock.calls.length)).toEqual([0, 0]);
      // Beyond SYNC_WRITE_BYTES the write goes back to the asynchronous calls.
      await store.put(Buffer.alloc(600 * 1024, 3));
      expect(asyncOpen).toHaveBeenCalledTimes(1);
      expect(spies.openSync).toHaveBeenCalledTimes(2);
      jest.restoreAllMocks();
      for (const bytes of [a, b]) {
        expect(
          (await readAll(await new LocalFolderObjectStore(dir).get(contentKeyOf(bytes)))).equals(bytes),
        ).toBe(true);
      }
    } finally {
      jest.restoreAllMocks();
    }
  });

  it.each([true, false])(
    'a fan-out directory removed behind its back is made again (fsync %s)',
    async (fsync) => {
      const [a, b] = twoInOneFanOut();
      const store = new LocalFolderObjectStore(dir, { fsync });
      await store.put(a);
      const hex = sha256Of(a);
      await rm(join(dir, 'sha256', hex.slice(0, 2)), { recursive: true });
      expect(await store.put(b)).toMatchObject({ created: true, size: b.length });
      expect((await readAll(await store.get(contentKeyOf(b)))).equals(b)).toBe(true);
    },
  );

  it('issue 16: with fsync a small object is written with the same synchronous calls, only its fdatasync on the thread pool', async () => {
    const [a, b] = twoInOneFanOut();
    const spies = Object.fromEntries(
      (['openSync', 'writeFileSync', 'fdatasync', 'closeSync'] as const).map((f) => [f, jest.spyOn(fs, f)]),
    );
    const asyncOpen = jest.spyOn(fsp, 'open');
    const calls = () =>
      Object.fromEntries(Object.entries(spies).map(([f, spy]) => [f, spy.mock.calls.length]));
    try {
      const store = new LocalFolderObjectStore(dir, { fsync: true });
      await store.put(a);
      expect(calls()).toEqual({ openSync: 1, writeFileSync: 1, fdatasync: 1, closeSync: 1 });
      // The file is synced through the descriptor it was written with, before it is closed.
      expect(spies.fdatasync.mock.calls[0][0]).toBe(spies.openSync.mock.results[0].value);
      expect(spies.fdatasync.mock.invocationCallOrder[0]).toBeLessThan(
        spies.closeSync.mock.invocationCallOrder[0],
      );
      await store.put(b);
      expect(calls()).toEqual({ openSync: 2, writeFileSync: 2, fdatasync: 2, closeSync: 2 });
      expect(asyncOpen).not.toHaveBeenCalled();
      // Without fsync: no fdatasync at all.
      await new LocalFolderObjectStore(dir, { fsync: false }).put(Buffer.from('not synced'));
      expect(spies.fdatasync).toHaveBeenCalledTimes(2);
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('a put fails when its fdatasync fails, and the next put of the content writes a synced copy over the file it finds', async () => {
    jest
      .spyOn(fs, 'fdatasync')
      .mockImplementation(((_fd: number, callback: (e: Error | null) => void) =>
        callback(
          Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }),
        )) as typeof fs.fdatasync);
    const bytes = Buffer.from('must be durable');
    const store = new LocalFolderObjectStore(dir, { fsync: true });
    try {
      await expect(store.put(bytes)).rejects.toThrow(/EIO/);
    } finally {
      jest.restoreAllMocks();
    }
    // Not taken as stored: the next put finds the complete file but cannot know it is on disk (a second fdatasync
    // would answer success for pages the failed writeback marked clean), so a synced copy replaces it.
    const renames = jest.spyOn(fsp, 'rename');
    const syncs = jest.spyOn(fs, 'fdatasync');
    try {
      expect(await store.put(bytes)).toMatchObject({ created: false, size: bytes.length });
      expect(syncs).toHaveBeenCalledTimes(1);
      expect(renames).toHaveBeenCalledTimes(1);
      const [from, to] = renames.mock.calls[0].map(String);
      expect(from).toMatch(/[/\\]tmp[/\\].*\.part$/);
      expect(to.endsWith(contentKeyOf(bytes).slice('sha256-'.length))).toBe(true);
    } finally {
      jest.restoreAllMocks();
    }
    expect((await readAll(await store.get(contentKeyOf(bytes)))).equals(bytes)).toBe(true);
  });

  it('with fsync, a complete file found under a key is replaced by a synced copy, never trusted as it is', async () => {
    const bytes = Buffer.from('left by a writer that died before its fdatasync');
    await new LocalFolderObjectStore(dir, { fsync: false }).put(bytes);
    const renames = jest.spyOn(fsp, 'rename');
    const syncs = jest.spyOn(fs, 'fdatasync');
    try {
      expect(await new LocalFolderObjectStore(dir, { fsync: true }).put(bytes)).toMatchObject({
        created: false,
      });
      expect([syncs.mock.calls.length, renames.mock.calls.length]).toEqual([1, 1]);
      // A large stream (through its own synced temporary file) does the same: renamed over, not trusted.
      const large = Buffer.alloc(600 * 1024, 4);
      await new LocalFolderObjectStore(dir, { fsync: false }).put(Readable.from([large]));
      expect(
        await new LocalFolderObjectStore(dir, { fsync: true }).put(Readable.from([large])),
      ).toMatchObject({
        created: false,
        size: large.length,
      });
      expect(renames).toHaveBeenCalledTimes(2);
    } finally {
      jest.restoreAllMocks();
    }
    expect(await listFiles(dir).then((f) => f.filter((x) => x.startsWith('tmp/')))).toEqual([]);
  });

  it('the large-object path still fdatasyncs each object unless turned off', async () => {
    const datasync = jest.fn();
    const realOpen = fsp.open.bind(fsp);
    jest.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const handle = await realOpen(...args);
      const real = handle.datasync.bind(handle);
      handle.datasync = async () => {
        datasync();
        return real();
      };
      return handle;
    });
    try {
      await harness.store.put(Buffer.alloc(600 * 1024, 1));
      expect(datasync).toHaveBeenCalledTimes(1);
      await new LocalFolderObjectStore(dir, { fsync: false }).put(Buffer.alloc(600 * 1024, 2));
      expect(datasync).toHaveBeenCalledTimes(1);
    } finally {
      jest.restoreAllMocks();
    }
  });

  describe('a file torn by a crash under its content key (kill -9 or a power cut mid-write)', () => {
    const whole = Buffer.alloc(300 * 1024, 9);
    const sha256 = createHash('sha256').update(whole).digest('hex');
    const key = `sha256-${sha256}`;
    const file = () => join(dir, `sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`);
    const torn: Record<string, () => Buffer> = {
      'a prefix': () => whole.subarray(0, 100 * 1024),
      'an empty file': () => Buffer.alloc(0),
      'the right size, wrong bytes': () => Buffer.alloc(whole.length, 0),
    };

    for (const [name, bytes] of Object.entries(torn)) {
      it.each([true, false])(
        `${name}: never served as the object, and a later put repairs it (fsync %s)`,
        async (fsync) => {
          await fsp.mkdir(join(file(), '..'), { recursive: true });
          await fsp.writeFile(file(), bytes());
          const store = new LocalFolderObjectStore(dir, { fsync });
          expect(await store.exists(key)).toBe(false);
          await expect(store.head(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
          await expect(readAll(await store.get(key))).rejects.toBeInstanceOf(ObjectIntegrityError);

          const stored = await store.put(whole);
          expect(stored).toMatchObject({ key, created: true, size: whole.length });
          expect((await fsp.readFile(file())).equals(whole)).toBe(true);
          expect((await readAll(await new LocalFolderObjectStore(dir).get(key))).equals(whole)).toBe(true);
          expect(await listFiles(dir)).toEqual([relative(dir, file())]);
        },
      );
    }

    it.each([true, false])(
      'a write that fails half way (disk full) leaves a torn file, never served, repaired by the next put (fsync %s)',
      async (fsync) => {
        const realWrite = fs.writeFileSync.bind(fs);
        const closes = jest.spyOn(fs, 'closeSync');
        jest.spyOn(fs, 'writeFileSync').mockImplementationOnce((fd, data) => {
          realWrite(fd, (data as Buffer).subarray(0, 1000));
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        });
        await expect(new LocalFolderObjectStore(dir, { fsync }).put(whole)).rejects.toThrow(/no space/);
        expect(closes).toHaveBeenCalledTimes(1); // the descriptor is not leaked
        jest.restoreAllMocks();
        expect((await fsp.stat(file())).size).toBe(1000);
        const store = new LocalFolderObjectStore(dir, { fsync });
        expect(await store.exists(key)).toBe(false);
        expect(await store.put(whole)).toMatchObject({ key, created: true });
        expect((await readAll(await store.get(key))).equals(whole)).toBe(true);
        expect(await listFiles(dir)).toEqual([relative(dir, file())]);
      },
    );

    it('a put of a large stream (through a temporary file) repairs it too', async () => {
      const large = Buffer.alloc(2 * 1024 * 1024, 5);
      const hex = createHash('sha256').update(large).digest('hex');
      const path = join(dir, `sha256/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`);
      await fsp.mkdir(join(path, '..'), { recursive: true });
      await fsp.writeFile(path, large.subarray(0, 10));
      const links = jest.spyOn(fsp, 'link');
      const stored = await harness.store.put(Readable.from([large.subarray(0, 1000), large.subarray(1000)]));
      expect(links).toHaveBeenCalledTimes(1); // EEXIST: then the torn file is replaced
      jest.restoreAllMocks();
      expect(stored).toMatchObject({ key: `sha256-${hex}`, created: true, size: large.length });
      expect((await fsp.readFile(path)).equals(large)).toBe(true);
      expect(await listFiles(dir)).toEqual([relative(dir, path)]);
    });
  });
});

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function contentKeyOf(bytes: Buffer): string {
  return `sha256-${sha256Of(bytes)}`;
}

/** Two different small contents whose objects share one fan-out directory (the same first four hex digits). */
function twoInOneFanOut(): [Buffer, Buffer] {
  const seen = new Map<string, Buffer>();
  for (let i = 0; ; i++) {
    const bytes = Buffer.from(`object ${i}`);
    const prefix = sha256Of(bytes).slice(0, 4);
    const other = seen.get(prefix);
    if (other) return [other, bytes];
    seen.set(prefix, bytes);
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
