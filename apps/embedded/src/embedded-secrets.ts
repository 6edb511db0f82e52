import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface EmbeddedSecrets {
  /** HS256 secret CRM tokens are signed with (`npm run token` reads it from here). */
  readonly authJwtSecret: string;
  readonly internalApiToken: string;
  /** Key of the token vault (identity-connections). */
  readonly tokenEncryptionKey: string;
}

/**
 * Secrets of the embedded default: generated on first start and kept in the data folder (mode 0600), so a restart
 * keeps existing tokens and encrypted data valid. Never used in distributed mode, where they come from Secrets.
 */
export async function loadOrCreateSecrets(dataDir: string): Promise<EmbeddedSecrets> {
  const file = path.join(dataDir, 'secrets.json');
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as EmbeddedSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secrets: EmbeddedSecrets = {
    authJwtSecret: randomBytes(32).toString('base64url'),
    internalApiToken: randomBytes(32).toString('base64url'),
    tokenEncryptionKey: randomBytes(32).toString('base64'),
  };
  await fs.mkdir(dataDir, { recursive: true });
  await fs.writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
