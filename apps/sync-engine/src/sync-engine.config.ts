import { z } from 'zod';
import { env, loadConfig, type Env } from '@mailbridge/platform-config';
import type { RetentionRule } from '@mailbridge/platform-persistence';

const bytes = () => z.coerce.number().int().positive();
const optionalList = () =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

/** sync-engine's own settings. Every default keeps the embedded mode (`npm start`, no configuration) working. */
export const syncEngineConfigSchema = z.object({
  /** ATT-1: largest attachment (bytes) that syncs / is sent through a Gmail mailbox. Default 25 MB. */
  ATTACHMENT_LIMIT_GOOGLE_BYTES: bytes().optional(),
  /** ATT-1: the same for Outlook / Microsoft 365. Default 3 MB. */
  ATTACHMENT_LIMIT_MICROSOFT_BYTES: bytes().optional(),
  /** ATT-1: the same for mail the location's own sending service sends. Default 25 MB. */
  ATTACHMENT_LIMIT_LOCATION_PROVIDER_BYTES: bytes().default(25 * 1024 * 1024),
  /** ATT-1: locations whose oversized-attachment policy is `strip` (comma-separated ids); all others `skip`. */
  ATTACHMENT_POLICY_STRIP_LOCATIONS: optionalList(),
  /** BCC-1: domains of the smart-BCC addresses (comma-separated); addresses seen on smart-BCC mail are learned too. */
  SMART_BCC_DOMAINS: optionalList(),
  /** Message-ID domain of a CRM email that has no From address (location provider without From). */
  MESSAGE_ID_FALLBACK_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'must be a domain name')
    .default('mailbridge.local'),
  /**
   * SND-1: identity-connections, asked for the user's connections when a CRM email is routed (its answer is fresher
   * than the event projection, which may not yet have taken in a connect or disconnect the CRM already shows). Unset:
   * routing uses the projection alone.
   */
  IDENTITY_CONNECTIONS_URL: env.url(['https', 'http']).optional(),
  /** How long routing waits for identity-connections before it falls back to the projection (logged). */
  IDENTITY_LOOKUP_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(2000),
  /**
   * How long a message that did not sync is kept for a second look when its thread gets bound later. It holds private
   * mail: older ones are never decided again and are deleted by the hourly retention job.
   */
  PARKED_MESSAGE_RETENTION_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(72),
});

export type SyncEngineConfig = z.infer<typeof syncEngineConfigSchema>;

export const SYNC_ENGINE_CONFIG = Symbol('SYNC_ENGINE_CONFIG');

export function loadSyncEngineConfig(env: Env): SyncEngineConfig {
  return loadConfig(syncEngineConfigSchema, env);
}

/** sync-engine's expiring rows (the platform prunes them hourly). */
export function retentionRulesOf(c: SyncEngineConfig): RetentionRule[] {
  return [
    {
      table: 'parked_message',
      keyColumns: ['mailbox_key', 'provider_message_id'],
      writtenAtColumn: 'parked_at',
      retentionHours: c.PARKED_MESSAGE_RETENTION_HOURS,
    },
  ];
}
