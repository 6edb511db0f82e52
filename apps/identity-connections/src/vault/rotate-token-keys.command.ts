import path from 'node:path';
import type { DataSource } from 'typeorm';
import { ConfigError, Env, loadConfig } from '@mailbridge/platform-config';
import { Logger, createLogger } from '@mailbridge/platform-observability';
import {
  createServiceDataSource,
  initializeServiceDataSource,
  startEmbeddedPostgres,
} from '@mailbridge/platform-persistence';
import { rotateTokenKeysConfigSchema } from '../identity-connections.config';
import { migrations } from '../migrations';
import { TokenCipher, VaultCorruptError, VaultKeyMissingError } from './token-cipher';
import { connectionContext, oauthStateContext } from './vault-contents';
import { ENCRYPTED_COLUMNS, EncryptedColumn, VaultRotationRepository } from './vault-rotation.repository';

/** Which vault context each sealed column is bound to. */
const CONTEXTS: Record<EncryptedColumn['table'], (id: string) => string> = {
  connection_tokens: connectionContext,
  token_revocations: connectionContext,
  oauth_states: oauthStateContext,
};

const BATCH = 200;

export interface RotationReport {
  readonly keyId: string;
  readonly reencrypted: number;
  /** Rows no configured key opens (their key was removed too early): they stay as they are. */
  readonly failed: number;
}

/**
 * Re-encrypts every stored secret not yet under the primary (first) key, in batches: each batch is read with a row
 * lock, re-sealed in memory and written back with one statement. Safe while the service runs.
 */
export async function reencryptVault(
  dataSource: DataSource,
  cipher: TokenCipher,
  logger: Logger,
): Promise<RotationReport> {
  let reencrypted = 0;
  let failed = 0;
  for (const col of ENCRYPTED_COLUMNS) {
    const skipped: string[] = [];
    for (;;) {
      const done = await dataSource.transaction(async (m) => {
        const rows = await VaultRotationRepository.lockBatch(m, col, cipher.primaryKeyId, skipped, BATCH);
        const ids: string[] = [];
        const values: string[] = [];
        for (const row of rows) {
          try {
            values.push(cipher.reencrypt(row.enc, CONTEXTS[col.table](row.id)).value);
            ids.push(row.id);
          } catch (error) {
            if (!(error instanceof VaultKeyMissingError || error instanceof VaultCorruptError)) throw error;
            skipped.push(row.id);
            logger.error(
              { table: col.table, id: row.id, code: error.code },
              'stored secret cannot be re-encrypted',
            );
          }
        }
        if (ids.length > 0) await VaultRotationRepository.write(m, col, ids, values, cipher.primaryKeyId);
        reencrypted += ids.length;
        return rows.length < BATCH;
      });
      if (done) break;
    }
    failed += skipped.length;
  }
  return { keyId: cipher.primaryKeyId, reencrypted, failed };
}

/** `main.js rotate-token-keys`: its own small bootstrap (configuration and database; no bus, no HTTP). Exit code. */
export async function runRotateTokenKeys(env: Env): Promise<number> {
  let config;
  try {
    config = loadConfig(rotateTokenKeysConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`rotate-token-keys: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const logger = createLogger({ service: 'identity-connections', level: config.LOG_LEVEL }).child({
    command: 'rotate-token-keys',
  });
  let url = config.DATABASE_URL;
  let stopEmbedded = async () => undefined as void;
  if (!url) {
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(config.DATA_DIR, 'identity-connections', 'pglite'),
    });
    url = embedded.url;
    stopEmbedded = () => embedded.stop();
  }
  const dataSource = createServiceDataSource({
    url,
    schema: 'identity_connections',
    entities: [],
    migrations,
    applicationName: 'identity-connections-rotate-keys',
  });
  try {
    await initializeServiceDataSource(dataSource, { runMigrations: false, logger });
    const report = await reencryptVault(dataSource, new TokenCipher(config.TOKEN_ENCRYPTION_KEYS), logger);
    logger.info(report, 'token keys rotated');
    return report.failed > 0 ? 2 : 0;
  } catch (error) {
    logger.error({ err: { message: (error as Error).message } }, 'token key rotation failed');
    return 1;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await stopEmbedded();
  }
}
