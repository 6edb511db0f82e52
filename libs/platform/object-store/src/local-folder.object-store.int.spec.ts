import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { LocalFolderObjectStore } from './local-folder.object-store';
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
  it('ATT-3: fans objects out by hash prefix and cleans its temporary files', async () => {
    const stored = await harness.store.put(Buffer.from('hello'), { contentType: 'text/plain' });
    const hex = stored.sha256;
    expect(await listFiles(dir)).toEqual([
      `sha256/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`,
      `sha256/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}.meta.json`,
    ]);
  });

  it('ATT-3: exactly one of several concurrent first puts creates the object', async () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024, 7);
    const results = await Promise.all(Array.from({ length: 8 }, () => harness.store.put(bytes)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});
