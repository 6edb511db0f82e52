import { z } from 'zod';
import { env } from '@mailbridge/platform-config';

/** Settings of the embedded default (`npm start`); all optional. */
export const embeddedConfigSchema = z.object({
  /** Where the embedded database, object store and generated secrets live. */
  MAILBRIDGE_DATA_DIR: z.string().default('.data'),
  /** Services listen on BASE+1..BASE+4 (identity-connections, mail-gateway, sync-engine, conversations); 0 = any free port. */
  MAILBRIDGE_PORT_BASE: env.port(3000),
  MAILBRIDGE_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: env.logLevel(),
  /** When set, CRM tokens are verified with this secret instead of the generated one. */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
});
