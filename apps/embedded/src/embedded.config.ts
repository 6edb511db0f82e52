import { z } from 'zod';
import { env } from '@mailbridge/platform-config';

/** Settings of the embedded default (`npm start`); all optional. */
export const embeddedConfigSchema = z.object({
  /** Where the embedded database, object store and generated secrets live. */
  MAILBRIDGE_DATA_DIR: z.string().default('.data'),
  /**
   * Services listen on BASE+1..BASE+4 (identity-connections, mail-gateway, sync-engine, conversations), the Auto-BCC
   * SMTP receiver on BASE+25 (unless SMTP_PORT is set), the sandbox providers on BASE+1010/1011/1020/1030; 0 = ports the
   * OS gives (bound before they are reported).
   */
  MAILBRIDGE_PORT_BASE: env.port(3000),
  MAILBRIDGE_HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: env.logLevel(),
  LOG_FORMAT: env.logFormat(),
  /**
   * The provider emulators (Gmail, Google OAuth, Graph, Microsoft identity): `auto` starts them when no Google or
   * Microsoft client id is configured, so the platform works with no accounts at all.
   */
  MAILBRIDGE_SANDBOX: z.enum(['auto', 'on', 'off']).default('auto'),
  GOOGLE_CLIENT_ID: z.string().optional(),
  MICROSOFT_CLIENT_ID: z.string().optional(),
  /** A PEM file of extra CAs to trust (e.g. provider emulators started elsewhere, with MAILBRIDGE_SANDBOX=off). */
  EXTRA_CA_CERTS_FILE: z.string().optional(),
  /** When set, CRM tokens are verified with this secret instead of the generated one. */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
});
