// The behaviour every ObjectStore must show (ATT-3), run by each implementation's test file.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  contentKeyFor,
  InvalidObjectKeyError,
  ObjectIntegrityError,
  ObjectNotFoundError,
  type ObjectStore,
} from './object-store.port';

export interface ObjectStoreHarness {
  store: ObjectStore;
  /** Every raw entry the backend holds (file paths / object keys), to prove nothing extra was written. */
  listRaw(): Promise<string[]>;
  /** Whether `head` reports the content type given at the first put (S3 keeps it; the local folder does not). */
  keepsContentType?: boolean;
}

const MiB = 1024 * 1024;

/** A stream of `size` random bytes in 64 KiB chunks, and the SHA-256 it will have. */
function randomStream(size: number): { stream: Readable; sha256: string } {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let left = size; left > 0; left -= 64 * 1024) {
    const chunk = randomBytes(Math.min(64 * 1024, left));
    hash.update(chunk);
    chunks.push(chunk);
  }
  return { stream: Readable.from(chunks), sha256: hash.digest('hex') };
}

async function hashOf(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export function describeObjectStoreContract(name: string, harness: () => ObjectStoreHarness): void {
  describe(`${name} (ObjectStore contract)`, () => {
    it('ATT-3: a multi-MB stream round-trips with the right hash, size and content key', async () => {
      const { store } = harness();
      const { stream, sha256: expected } = randomStream(12 * MiB + 123);
      const stored = await store.put(stream, { contentType: 'application/zip' });
      expect(stored).toEqual({
        key: `sha256-${expected}`,
        sha256: expected,
        size: 12 * MiB + 123,
        created: true,
      });
      expect(await hashOf(await store.get(stored.key))).toEqual({ sha256: expected, size: 12 * MiB + 123 });
      expect(await store.head(stored.key)).toEqual({
        key: stored.key,
        sha256: expected,
        size: 12 * MiB + 123,
        ...(harness().keepsContentType ? { contentType: 'application/zip' } : {}),
      });
      expect(await store.exists(stored.key)).toBe(true);
    });

    it('ATT-3: the same bytes are stored once; a second put writes nothing new', async () => {
      const { store, listRaw } = harness();
      const bytes = randomBytes(300 * 1024);
      const first = await store.put(bytes, { contentType: 'application/pdf' });
      const before = await listRaw();
      const second = await store.put(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), {
        contentType: 'text/plain',
      });
      expect(second).toEqual({ ...first, created: false });
      expect(await listRaw()).toEqual(before);
      // The first content type stays: objects are immutable.
      if (harness().keepsContentType)
        expect((await store.head(first.key)).contentType).toBe('application/pdf');
    });

    it('ATT-3: concurrent puts of the same content agree on one complete object', async () => {
      const { store, listRaw } = harness();
      const bytes = randomBytes(6 * MiB);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.put(
            i % 2 === 0 ? bytes : Readable.from([bytes.subarray(0, 4 * MiB), bytes.subarray(4 * MiB)]),
          ),
        ),
      );
      expect(new Set(results.map((r) => r.key))).toEqual(new Set([contentKeyFor(sha256(bytes))]));
      expect(results.filter((r) => r.created).length).toBeGreaterThanOrEqual(1);
      expect(await hashOf(await store.get(results[0].key))).toEqual({
        sha256: sha256(bytes),
        size: bytes.length,
      });
      const raw = await listRaw();
      expect(
        raw.filter((entry) => entry.includes(sha256(bytes)) && !entry.endsWith('.meta.json')),
      ).toHaveLength(1);
      expect(raw.filter((entry) => entry.includes('tmp/'))).toEqual([]);
    });

    it('stores empty bodies and in-memory Uint8Arrays', async () => {
      const { store } = harness();
      const empty = await store.put(Buffer.alloc(0));
      expect(empty.key).toBe(contentKeyFor(sha256(Buffer.alloc(0))));
      expect(await hashOf(await store.get(empty.key))).toEqual({ sha256: sha256(Buffer.alloc(0)), size: 0 });
      const view = new Uint8Array([1, 2, 3, 4, 5]).subarray(1, 4);
      const stored = await store.put(view);
      expect(stored).toMatchObject({ size: 3, sha256: sha256(Buffer.from([2, 3, 4])) });
    });

    it('a missing key is an ObjectNotFoundError for get and head, and false for exists', async () => {
      const { store } = harness();
      const missing = contentKeyFor('0'.repeat(64));
      await expect(store.get(missing)).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(store.head(missing)).rejects.toMatchObject({ code: 'object_not_found', key: missing });
      expect(await store.exists(missing)).toBe(false);
    });

    it('anything that is not a content key is rejected before touching the backend', async () => {
      const { store } = harness();
      for (const key of ['../../etc/passwd', 'sha256-XYZ', `sha256-${'A'.repeat(64)}`, '', 'tmp/abc']) {
        await expect(store.get(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
        await expect(store.exists(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
      }
    });

    it('nothing becomes visible when the bytes do not match the expected hash', async () => {
      const { store, listRaw } = harness();
      const before = await listRaw();
      const bytes = randomBytes(1000);
      await expect(store.put(bytes, { expectedSha256: 'f'.repeat(64) })).rejects.toBeInstanceOf(
        ObjectIntegrityError,
      );
      expect(await store.exists(contentKeyFor(sha256(bytes)))).toBe(false);
      expect(await listRaw()).toEqual(before);
      const ok = await store.put(bytes, { expectedSha256: sha256(bytes).toUpperCase() });
      expect(ok.created).toBe(true);
    });

    it('a source that fails half way leaves nothing behind', async () => {
      const { store, listRaw } = harness();
      const before = await listRaw();
      async function* failing(): AsyncGenerator<Buffer> {
        yield randomBytes(6 * MiB);
        throw new Error('provider connection reset');
      }
      await expect(store.put(Readable.from(failing()))).rejects.toThrow('provider connection reset');
      expect(await listRaw()).toEqual(before);
    });
  });
}
