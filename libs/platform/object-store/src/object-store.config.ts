import { z } from 'zod';
import { env } from '@mailbridge/platform-config';
import type { ObjectStoreConfig } from './object-store.factory';

/**
 * The object store's environment variables, the same names in every service that keeps attachment bytes
 * (conversations and mail-gateway share one store). Its shape is spread into a service's config schema, checked with
 * `checkObjectStoreSettings` in the service's superRefine.
 */
export const objectStoreSettingsSchema = z.object({
  /** `local` (a folder; the embedded launcher sets OBJECT_STORE_DIR) or `s3`. */
  OBJECT_STORE_KIND: z.enum(['local', 's3']).default('local'),
  /** The folder of the `local` store (one folder shared by the services of one machine). */
  OBJECT_STORE_DIR: z.string().min(1).default('.data/objects'),
  /**
   * `local`: fdatasync each object before its put returns, so it survives a power cut. The embedded launcher turns it
   * off, matching its database (PGlite runs with fsync off): objects then survive kill -9, not a power cut.
   */
  OBJECT_STORE_FSYNC: env.bool(true),
  /** `s3`: the bucket (required with `s3`). */
  S3_BUCKET: z.string().min(3).max(63).optional(),
  /** `s3`: its region (required with `s3`). */
  S3_REGION: z.string().min(1).optional(),
  /** `s3`: an S3-compatible server (MinIO, Ceph) instead of AWS. */
  S3_ENDPOINT: env.url(['https', 'http']).optional(),
  /** `s3`: path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  S3_FORCE_PATH_STYLE: env.bool(false),
  /** `s3`: key prefix of everything stored, empty or ending in `/` (e.g. `attachments/`). */
  S3_PREFIX: z.string().optional(),
  /** Optional static credentials; otherwise the AWS SDK's default chain (IRSA, instance profile...). */
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  /** Goes with S3_ACCESS_KEY_ID (both or neither). */
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
});

export type ObjectStoreSettings = z.infer<typeof objectStoreSettingsSchema>;

/** What a schema cannot say field by field: S3 needs a bucket and a region, and both credentials or neither. */
export function checkObjectStoreSettings(c: ObjectStoreSettings, ctx: z.RefinementCtx): void {
  if (c.OBJECT_STORE_KIND !== 's3') return;
  for (const key of ['S3_BUCKET', 'S3_REGION'] as const) {
    if (!c[key])
      ctx.addIssue({ code: 'custom', path: [key], message: 'is required when OBJECT_STORE_KIND=s3' });
  }
  if (Boolean(c.S3_ACCESS_KEY_ID) !== Boolean(c.S3_SECRET_ACCESS_KEY)) {
    ctx.addIssue({
      code: 'custom',
      path: ['S3_SECRET_ACCESS_KEY'],
      message: 'and S3_ACCESS_KEY_ID must be set together',
    });
  }
}

export function objectStoreConfigOf(c: ObjectStoreSettings): ObjectStoreConfig {
  if (c.OBJECT_STORE_KIND === 'local')
    return { kind: 'local', dir: c.OBJECT_STORE_DIR, fsync: c.OBJECT_STORE_FSYNC };
  return {
    kind: 's3',
    bucket: c.S3_BUCKET ?? '',
    region: c.S3_REGION ?? '',
    ...(c.S3_ENDPOINT ? { endpoint: c.S3_ENDPOINT } : {}),
    forcePathStyle: c.S3_FORCE_PATH_STYLE,
    ...(c.S3_PREFIX ? { prefix: c.S3_PREFIX } : {}),
    ...(c.S3_ACCESS_KEY_ID && c.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY } }
      : {}),
  };
}
