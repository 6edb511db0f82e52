import { z } from 'zod';
import { LocalFolderObjectStore } from './local-folder.object-store';
import type { ObjectStore } from './object-store.port';
import { S3ObjectStore } from './s3.object-store';

export const localObjectStoreConfigSchema = z.object({
  kind: z.literal('local'),
  /** Folder holding the objects (created on first put). */
  dir: z.string().min(1),
  /** fdatasync each object before its put resolves (default true; see LocalFolderObjectStoreOptions). */
  fsync: z.boolean().optional(),
});

export const s3ObjectStoreConfigSchema = z.object({
  kind: z.literal('s3'),
  bucket: z.string().min(3).max(63),
  region: z.string().min(1),
  endpoint: z.url().optional(),
  forcePathStyle: z.boolean().optional(),
  credentials: z
    .object({
      accessKeyId: z.string().min(1),
      secretAccessKey: z.string().min(1),
      sessionToken: z.string().min(1).optional(),
    })
    .optional(),
  prefix: z
    .string()
    .regex(/^([^/].*\/)?$/, 'must be empty or end with "/" (and not start with one)')
    .optional(),
  partSizeBytes: z
    .number()
    .int()
    .min(5 * 1024 * 1024)
    .optional(),
  queueSize: z.number().int().min(1).max(16).optional(),
});

export const objectStoreConfigSchema = z.discriminatedUnion('kind', [
  localObjectStoreConfigSchema,
  s3ObjectStoreConfigSchema,
]);

export type ObjectStoreConfig = z.infer<typeof objectStoreConfigSchema>;

/** Builds the store the configuration names: a local folder (embedded default) or S3 (distributed). */
export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  const valid = objectStoreConfigSchema.parse(config);
  switch (valid.kind) {
    case 'local':
      return new LocalFolderObjectStore(valid.dir, { fsync: valid.fsync });
    case 's3': {
      const { kind: _kind, ...s3 } = valid;
      return new S3ObjectStore(s3);
    }
  }
}
