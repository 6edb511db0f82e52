// ATT-3: content-addressed, streamed storage for attachment bytes: a local folder in the embedded default,
// S3 (or an S3-compatible server) when distributed. Framework-free; the services wire it.
export * from './object-store.port';
export { LocalFolderObjectStore } from './local-folder.object-store';
export { S3ObjectStore, type S3ObjectStoreConfig } from './s3.object-store';
export {
  createObjectStore,
  objectStoreConfigSchema,
  localObjectStoreConfigSchema,
  s3ObjectStoreConfigSchema,
  type ObjectStoreConfig,
} from './object-store.factory';
export {
  objectStoreSettingsSchema,
  checkObjectStoreSettings,
  objectStoreConfigOf,
  type ObjectStoreSettings,
} from './object-store.config';
