import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fsp, { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { LocalFolderObjectStore } from './local-folder.object-store';
import { ObjectNotFoundError } from './object-store.port';
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

  it('content already stored is not written again (the file keeps its inode and mtime)', async () => {
    const bytes = Buffer.from('same bytes twice');
    const first = await harness.store.put(bytes);
    const file = join(dir, `sha256/${first.sha256.slice(0, 2)}/${first.sha256.slice(2, 4)}/${first.sha256}`);
    const before = await stat(file);
    // A second store on the same folder (a restarted process) knows nothing in memory: it still does not rewrite.
    const again = await new LocalFolderObjectStore(dir).put(bytes);
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

  it('issue 16: a put of new content makes no look-up before its one write; its directory is made only when missing', async () => {
    const stats = jest.spyOn(fsp, 'stat');
    const mkdirs = jest.spyOn(fsp, 'mkdir');
    const links = jest.spyOn(fsp, 'link');
    try {
      const first = await harness.store.put(Buffer.from('first object'));
      // Its twin in the same fan-out directory, as another process would put it: the directory exists now.
      const again = await new LocalFolderObjectStore(dir).put(Buffer.from('first object'));
      expect(stats).not.toHaveBeenCalled();
      // tmp/ once per store; the fan-out directory once, after the first link said ENOENT; the second link: EEXIST.
      expect(mkdirs).toHaveBeenCalledTimes(3);
      expect(links).toHaveBeenCalledTimes(3);
      expect([first.created, again.created]).toEqual([true, false]);
      expect(await listFiles(dir)).toEqual([
        `sha256/${first.sha256.slice(0, 2)}/${first.sha256.slice(2, 4)}/${first.sha256}`,
      ]);
    } finally {
      jest.restoreAllMocks();
    }
  });
});
