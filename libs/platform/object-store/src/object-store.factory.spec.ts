import { LocalFolderObjectStore } from './local-folder.object-store';
import { createObjectStore, objectStoreConfigSchema } from './object-store.factory';
import {
  contentKeyFor,
  contentPath,
  InvalidObjectKeyError,
  isContentKey,
  sha256OfKey,
} from './object-store.port';
import { S3ObjectStore } from './s3.object-store';

const HEX = 'ab'.repeat(32);

describe('content keys', () => {
  it('ATT-3: derive the key from the SHA-256 and fan paths out by its prefix', () => {
    expect(contentKeyFor(HEX.toUpperCase())).toBe(`sha256-${HEX}`);
    expect(sha256OfKey(`sha256-${HEX}`)).toBe(HEX);
    expect(contentPath(`sha256-${HEX}`)).toBe(`sha256/ab/ab/${HEX}`);
    expect(isContentKey(`sha256-${HEX}`)).toBe(true);
  });

  it('reject anything else, path tricks included', () => {
    for (const bad of ['', '../x', `sha256-${HEX}/../../etc`, `sha256-${HEX.slice(1)}`, `md5-${HEX}`]) {
      expect(isContentKey(bad)).toBe(false);
      expect(() => contentPath(bad)).toThrow(InvalidObjectKeyError);
    }
    expect(() => contentKeyFor('xyz')).toThrow(InvalidObjectKeyError);
  });
});

describe('createObjectStore', () => {
  it('chooses the implementation by kind', () => {
    expect(createObjectStore({ kind: 'local', dir: '/tmp/mailbridge-objects' })).toBeInstanceOf(
      LocalFolderObjectStore,
    );
    const s3 = createObjectStore({ kind: 's3', bucket: 'attachments', region: 'eu-west-1' });
    expect(s3).toBeInstanceOf(S3ObjectStore);
    (s3 as S3ObjectStore).destroy();
  });

  it('rejects invalid configuration with the offending field named', () => {
    const cases: Array<[unknown, string]> = [
      [{ kind: 'ftp', dir: '/x' }, 'kind'],
      [{ kind: 'local', dir: '' }, 'dir'],
      [{ kind: 's3', bucket: 'ab', region: 'eu-west-1' }, 'bucket'],
      [{ kind: 's3', bucket: 'attachments', region: 'eu-west-1', endpoint: 'not a url' }, 'endpoint'],
      [{ kind: 's3', bucket: 'attachments', region: 'eu-west-1', prefix: '/abs/' }, 'prefix'],
      [{ kind: 's3', bucket: 'attachments', region: 'eu-west-1', prefix: 'no-slash' }, 'prefix'],
      [{ kind: 's3', bucket: 'attachments', region: 'eu-west-1', partSizeBytes: 1024 }, 'partSizeBytes'],
    ];
    for (const [config, field] of cases) {
      const result = objectStoreConfigSchema.safeParse(config);
      expect(result.success).toBe(false);
      expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(field);
    }
    expect(
      objectStoreConfigSchema.safeParse({ kind: 's3', bucket: 'attachments', region: 'x', prefix: 'a/b/' })
        .success,
    ).toBe(true);
  });
});
