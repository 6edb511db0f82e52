import { z } from 'zod';
import { env } from '@mailbridge/platform-config';
import { KeyRing, parseKeyRing } from './vault/token-cipher';

const keyRing = () =>
  z.string().transform((value, ctx): KeyRing => {
    try {
      return parseKeyRing(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const httpUrl = () => env.url(['https', 'http']);

/** Settings of identity-connections (read once at boot; every variable it reads is here). */
export const identityConnectionsConfigSchema = z
  .object({
    /** This service's own base URL: the OAuth redirect URI is `${PUBLIC_URL}/v1/oauth/{provider}/callback`. */
    PUBLIC_URL: httpUrl().default('http://localhost:3001'),
    /** mail-gateway, for an on-demand completeness audit (`POST /internal/mailboxes/{mailboxKey}/audit`, SYN-10). */
    MAIL_GATEWAY_URL: httpUrl().default('http://localhost:3002'),
    /** Where a finished OAuth flow may send the browser: comma-separated origins or URL prefixes. */
    OAUTH_RETURN_URL_ALLOWLIST: env.list().default(['http://localhost', 'http://127.0.0.1']),
    /** HMAC key of the OAuth `state`; derived from the primary token key when unset. */
    OAUTH_STATE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** How long a started connect flow may take before its `state` expires. */
    OAUTH_STATE_TTL_SECONDS: z.coerce.number().int().min(60).max(3600).default(600),
    /**
     * Where the browser goes when a callback cannot be trusted at all (forged state: no return URL to believe).
     * Defaults to this service's own small result page.
     */
    OAUTH_FALLBACK_RESULT_URL: httpUrl().optional(),
    /** `<keyId>:<base64 of 32 bytes>[,…]`: the FIRST key encrypts, every listed key decrypts (rotation). */
    TOKEN_ENCRYPTION_KEYS: keyRing(),
    /** Domain of the per-user Auto-BCC addresses (BCC-1). */
    SMART_BCC_DOMAIN: z
      .string()
      .regex(
        /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i,
        'must be a domain name',
      )
      .default('bcc.mailbridge.localhost'),

    GOOGLE_CLIENT_ID: z.string().optional(),
    GOOGLE_CLIENT_SECRET: z.string().optional(),
    GOOGLE_OAUTH_AUTHORIZE_URL: httpUrl().default('https://accounts.google.com/o/oauth2/v2/auth'),
    GOOGLE_OAUTH_TOKEN_URL: httpUrl().default('https://oauth2.googleapis.com/token'),
    GOOGLE_OAUTH_REVOKE_URL: httpUrl().default('https://oauth2.googleapis.com/revoke'),
    GOOGLE_USERINFO_URL: httpUrl().default('https://openidconnect.googleapis.com/v1/userinfo'),
    GOOGLE_OAUTH_CERTS_URL: httpUrl().default('https://www.googleapis.com/oauth2/v1/certs'),
    /** CON-7: Google consent screen publishing status; `testing` = 7-day refresh tokens, every connection warns. */
    GOOGLE_OAUTH_PUBLISHING_STATUS: z.enum(['production', 'testing']).default('production'),

    MICROSOFT_CLIENT_ID: z.string().optional(),
    MICROSOFT_CLIENT_SECRET: z.string().optional(),
    MICROSOFT_TENANT: z
      .string()
      .regex(/^[A-Za-z0-9.-]{1,128}$/, 'must be common, organizations, consumers, a tenant id or domain')
      .default('common'),
    /** MSAL only accepts https authorities. */
    MICROSOFT_AUTHORITY_HOST: env.url(['https']).default('https://login.microsoftonline.com'),
    MICROSOFT_GRAPH_BASE_URL: httpUrl().default('https://graph.microsoft.com'),
    /** Gmail API root, for the mailbox's send-as addresses and signatures (`users.settings.sendAs.list`, SND-7). */
    GMAIL_API_ROOT_URL: httpUrl().default('https://gmail.googleapis.com/'),
  })
  .superRefine((c, ctx) => {
    for (const entry of c.OAUTH_RETURN_URL_ALLOWLIST) {
      if (!/^https?:\/\/[^/?#@\s]+/i.test(entry)) {
        ctx.addIssue({
          code: 'custom',
          path: ['OAUTH_RETURN_URL_ALLOWLIST'],
          message: `entries must be http(s) origins or URL prefixes ("${entry}" is not)`,
        });
      }
    }
    if (c.GOOGLE_CLIENT_ID && !c.GOOGLE_CLIENT_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['GOOGLE_CLIENT_SECRET'],
        message: 'is required with GOOGLE_CLIENT_ID',
      });
    }
    if (c.MICROSOFT_CLIENT_ID && !c.MICROSOFT_CLIENT_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['MICROSOFT_CLIENT_SECRET'],
        message: 'is required with MICROSOFT_CLIENT_ID',
      });
    }
  });

export type IdentityConnectionsConfig = z.infer<typeof identityConnectionsConfigSchema>;

/** Injection token of the validated configuration. */
export const IDENTITY_CONFIG = Symbol('IDENTITY_CONFIG');

/** What the `rotate-token-keys` command reads (it runs without the service: no bus, no HTTP). */
export const rotateTokenKeysConfigSchema = z.object({
  /** PostgreSQL of the service; unset = the embedded PGlite of standalone mode in DATA_DIR. */
  DATABASE_URL: env.url(['postgres', 'postgresql']).optional(),
  DATA_DIR: z.string().default('.data'),
  LOG_LEVEL: env.logLevel(),
  TOKEN_ENCRYPTION_KEYS: keyRing(),
});
