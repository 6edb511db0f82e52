import { z } from 'zod';
import { env } from '@mailbridge/platform-config';
import { MB, type AttachmentSizeLimits, type SendingCaps } from '@mailbridge/domain-mail';
import { checkObjectStoreSettings, objectStoreSettingsSchema } from '@mailbridge/platform-object-store';
import type { RetentionRule } from '@mailbridge/platform-persistence';

const bytes = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const count = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

/** conversations' own settings. Every default works for the embedded mode (`npm start`, nothing configured). */
export const conversationsConfigSchema = z
  .object({
    ...objectStoreSettingsSchema.shape,
    /** CRM requests per minute per (token subject, location), across all replicas; 0 turns the limit off. */
    RATE_LIMIT_PER_MINUTE: count(600),
    /** JSON body limit of the send route only (inline base64 attachments); larger files go through uploads. */
    SEND_BODY_LIMIT_BYTES: bytes(8 * MB),
    /** Largest file `POST /uploads` accepts (streamed, never held in memory). */
    UPLOAD_MAX_BYTES: bytes(25 * MB),
    /** ATT-1, per attachment, by the provider of the sender's connection. */
    ATTACHMENT_LIMIT_GOOGLE_BYTES: bytes(25 * MB),
    ATTACHMENT_LIMIT_MICROSOFT_BYTES: bytes(3 * MB),
    /** Per attachment when the sender has no active connection (the location provider sends it). */
    ATTACHMENT_LIMIT_LOCATION_PROVIDER_BYTES: bytes(25 * MB),
    /** SND-4: individual emails per mailbox per rolling 24 hours; 0 is no cap (as in mail-gateway). */
    SEND_CAP_GOOGLE_PER_DAY: count(500),
    SEND_CAP_MICROSOFT_PER_DAY: count(10_000),
    /** To + Cc + Bcc of one send (the Gmail API takes at most 100). */
    MAX_RECIPIENTS: z.coerce.number().int().min(1).max(1500).default(100),
    /** SND-6: how long a send's Idempotency-Key is remembered; a retry after that is a new send. */
    IDEMPOTENCY_KEY_RETENTION_HOURS: z.coerce.number().int().min(24).default(168),
    /** An upload not used by a send within this long is forgotten (its id is then `upload_not_found`). */
    UPLOAD_RETENTION_HOURS: z.coerce.number().int().min(1).default(24),
    /** identity-connections, asked for a connection's send-as addresses when a send names another From (SND-7). */
    IDENTITY_CONNECTIONS_URL: env.url(['https', 'http']).default('http://localhost:3001'),
    /** How long the send route waits for that answer before it refuses with 503 (nothing is queued). */
    SEND_AS_LOOKUP_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5000),
    /**
     * SYN-7 location policy: locations (comma-separated ids, `*` for all) whose conversation message lists hide
     * messages deleted from the mailbox. Elsewhere (the default) they stay listed, flagged `mailboxState.deleted`.
     */
    MAILBOX_DELETED_HIDE_LOCATIONS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      ),
  })
  .superRefine(checkObjectStoreSettings);

export type ConversationsConfig = z.infer<typeof conversationsConfigSchema>;

/** conversations' expiring rows (the platform prunes them hourly). */
export function retentionRulesOf(c: ConversationsConfig): RetentionRule[] {
  return [
    {
      table: 'idempotency_keys',
      keyColumns: ['location_id', 'idempotency_key'],
      writtenAtColumn: 'created_at',
      retentionHours: c.IDEMPOTENCY_KEY_RETENTION_HOURS,
    },
    {
      table: 'uploads',
      keyColumns: ['location_id', 'upload_id'],
      writtenAtColumn: 'created_at',
      retentionHours: c.UPLOAD_RETENTION_HOURS,
    },
    // A bucket idle for a minute is full again; a missing row is a full bucket.
    {
      table: 'rate_limit_buckets',
      keyColumns: ['bucket_key'],
      writtenAtColumn: 'refreshed_at',
      retentionHours: 1,
    },
  ];
}

export function attachmentLimitsOf(c: ConversationsConfig): Required<AttachmentSizeLimits> {
  return {
    google: c.ATTACHMENT_LIMIT_GOOGLE_BYTES,
    microsoft: c.ATTACHMENT_LIMIT_MICROSOFT_BYTES,
    location_provider: c.ATTACHMENT_LIMIT_LOCATION_PROVIDER_BYTES,
  };
}

/** SND-4 caps, read by mail-gateway too (same names and meaning: 0 is no cap). */
export function sendingCapsOf(c: ConversationsConfig): SendingCaps {
  return { google: c.SEND_CAP_GOOGLE_PER_DAY, microsoft: c.SEND_CAP_MICROSOFT_PER_DAY };
}
