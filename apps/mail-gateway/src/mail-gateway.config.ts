import path from 'node:path';
import { z } from 'zod';
import { env, loadConfig, type Env } from '@mailbridge/platform-config';
import { checkObjectStoreSettings, objectStoreSettingsSchema } from '@mailbridge/platform-object-store';
import type { SendingCaps } from '@mailbridge/domain-mail';
import type { RetentionRule } from '@mailbridge/platform-persistence';

const httpUrl = () => env.url(['https', 'http']);
const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

const smtpOverrides = () =>
  z.string().transform((value, ctx): Record<string, string> => {
    try {
      const parsed = JSON.parse(value) as unknown;
      if (
        parsed &&
        typeof parsed === 'object' &&
        !Array.isArray(parsed) &&
        Object.values(parsed).every((v) => typeof v === 'string' && /^smtps?:\/\//.test(v))
      ) {
        return parsed as Record<string, string>;
      }
    } catch {
      // reported below
    }
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object {"<locationId>": "smtp(s)://..."}' });
    return z.NEVER;
  });

/**
 * mail-gateway's own settings (read once at boot; every variable it reads is here). Every default works for the
 * embedded mode (`npm start`, nothing configured), where the launcher supplies PUBLIC_URL, IDENTITY_CONNECTIONS_URL,
 * OBJECT_STORE_DIR and, without real credentials, the sandbox providers' GOOGLE_*, GMAIL_*, MICROSOFT_* URLs.
 */
export const mailGatewayConfigSchema = z
  .object({
    /** This service's own base URL: webhooks are `${PUBLIC_URL}/v1/webhooks/{gmail|microsoft}`. */
    PUBLIC_URL: httpUrl().default('http://localhost:3002'),
    /** identity-connections, for access tokens (`POST /internal/connections/{id}/access-token`). */
    IDENTITY_CONNECTIONS_URL: httpUrl().default('http://localhost:3001'),
    /** Fallback folder for the location provider's pickup directory (standalone mode). */
    DATA_DIR: z.string().default('.data'),

    /** The object store conversations shares (the same variables). */
    ...objectStoreSettingsSchema.shape,
    /**
     * Keep every observed message's raw RFC 822 in the object store and name it in `message.observed`
     * (`rawObjectKey`). Off by default: no service reads it, the mailbox's provider keeps the original, and it would
     * cost a durable write and a full copy of the mail per message (issue 16). Kept either way: attachments (ATT-3),
     * smart-BCC mail (no provider keeps it) and a message fetched as a stream (Graph `$value` alone: spooled to parse).
     */
    STORE_RAW_MESSAGES: env.bool(false),

    /** Gmail API root (trailing slash); the sandbox in embedded mode. */
    GMAIL_API_ROOT_URL: httpUrl().default('https://gmail.googleapis.com/'),
    /** `projects/<project>/topics/<topic>` Gmail publishes watch notifications to; unset = poll only. */
    GMAIL_PUBSUB_TOPIC: z
      .string()
      .regex(/^projects\/[^/]+\/topics\/[^/]+$/, 'must be projects/<project>/topics/<topic>')
      .optional(),
    /** Audience of the Pub/Sub push OIDC token; default `${PUBLIC_URL}/v1/webhooks/gmail` (Pub/Sub's own default). */
    GMAIL_PUSH_AUDIENCE: z.string().min(1).optional(),
    /** The service account the push subscription signs as; unset = every Gmail push is refused. */
    GMAIL_PUSH_SERVICE_ACCOUNT: z.string().min(3).optional(),
    /** Google's signing certificates (PEM map) that push tokens are verified against. */
    GOOGLE_OAUTH_CERTS_URL: httpUrl().default('https://www.googleapis.com/oauth2/v1/certs'),
    /** Re-call users.watch this often (Google: at least every 7 days, recommended daily). */
    GMAIL_WATCH_RENEW_HOURS: seconds(24),
    /** Per-mailbox Gmail budget (Google allows 15,000 per user per minute; keep headroom). */
    GMAIL_QUOTA_UNITS_PER_MINUTE: int(12_000, 100),

    MICROSOFT_GRAPH_BASE_URL: httpUrl().default('https://graph.microsoft.com'),
    /** Lifetime asked for Graph subscriptions; renewed at half of it. ≤ 4,230 is valid under every documented maximum. */
    GRAPH_SUBSCRIPTION_MINUTES: int(4_230, 45),
    /** Graph allows 4 concurrent requests per app and mailbox. */
    GRAPH_MAX_CONCURRENT_PER_MAILBOX: int(4, 1),

    /** Safety net: a mailbox with no notification for this long is pulled anyway (default 5 minutes). */
    SAFETY_NET_POLL_SECONDS: seconds(300),
    /** How often the scheduler looks for due work (safety net, renewals, retries). */
    SCHEDULER_TICK_MS: int(1_000, 10),
    /** Mailboxes processed at once by this replica. */
    PULL_CONCURRENCY: int(8, 1),
    /** A mailbox is worked on by one replica at a time; this is how long its lease lasts without renewal. */
    MAILBOX_LEASE_SECONDS: int(120, 5),
    /**
     * SND-7: how long a connection's send-as answer from identity-connections is used without asking again; an older
     * one still serves while identity-connections cannot answer (a restart), so a send never fails for that alone.
     */
    SEND_AS_FRESH_SECONDS: int(60, 0),
    /** Per provider request. */
    PROVIDER_TIMEOUT_MS: int(30_000, 100),
    /** A Retry-After up to this long is waited out in place; a longer one pauses the mailbox instead. */
    PROVIDER_MAX_INLINE_WAIT_MS: int(10_000, 0),
    /** Attempts of one idempotent provider call on temporary errors and throttling. */
    PROVIDER_MAX_ATTEMPTS: int(4, 1),
    /**
     * Ceiling of a failing mailbox's back-off (≤ 60 s): after any error storm the mailbox is retried at least this
     * often, for ever, so it syncs again at most this long after the provider recovers.
     */
    MAILBOX_RETRY_MAX_SECONDS: z.coerce.number().positive().max(60).default(60),
    /**
     * Pulls in which one message may fail (fetch, parse, record) before it is quarantined and the mailbox moves on
     * (SYN-10); an operator can retry it (`POST /internal/quarantine/messages/{id}/retry`).
     */
    MESSAGE_MAX_ATTEMPTS: int(3, 1),

    /** Expired cursor: at most this far back is re-listed; anything older is reported as a sync gap. */
    GAP_RELIST_MAX_DAYS: seconds(7),
    /** Expired cursor: at most this many messages per folder are re-listed; the rest is reported as a gap. */
    GAP_RELIST_MAX_MESSAGES: int(2_000, 1),
    /** The re-list starts this long before the last confirmed sync (clock skew, late indexing). */
    GAP_SAFETY_MARGIN_MINUTES: seconds(10),
    /**
     * How long a provider message id is remembered as observed. Longer than any re-list (GAP_RELIST_MAX_DAYS);
     * a message seen again after that is fetched and published once more, and sync-engine ignores it (SYN-5).
     */
    OBSERVED_MESSAGE_RETENTION_DAYS: int(30, 1),

    /** SND-4: individual emails per mailbox per rolling 24 hours sent through the platform; 0 is no cap. */
    SEND_CAP_GOOGLE_PER_DAY: int(500),
    SEND_CAP_MICROSOFT_PER_DAY: int(10_000),
    /** Location provider (SND-1..3): an SMTP relay; unset = a pickup directory of .eml files. */
    LOCATION_PROVIDER_SMTP_URL: env.url(['smtp', 'smtps']).optional(),
    /** Per-location SMTP relays: `{"<locationId>": "smtp://..."}`. */
    LOCATION_PROVIDER_SMTP_OVERRIDES: smtpOverrides().optional(),
    /** Pickup directory when no relay is configured; default `<object store dir>/../mail-pickup`. */
    LOCATION_PROVIDER_PICKUP_DIR: z.string().min(1).optional(),
    /** From address of location-provider mail whose request names none. */
    LOCATION_PROVIDER_DEFAULT_FROM: z.string().min(3).default('no-reply@mailbridge.localhost'),

    /** A health event is re-sent at least this often while a mailbox syncs (CON-2 last-synced-at). */
    HEALTH_HEARTBEAT_SECONDS: seconds(300),

    /** Auto-BCC (BCC-1): the SMTP receiver of smart-BCC mail runs in this service. */
    SMTP_ENABLED: env.bool(true),
    /** Address it listens on; default the HTTP bind address (HOST). */
    SMTP_HOST: z.string().min(1).optional(),
    /**
     * Port it listens on (0 = any free port, for tests). Unset: 2525, best effort (a second local stack on the same
     * machine keeps running without it); set: the service does not start if it cannot listen there.
     */
    SMTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    /** Name in the greeting and EHLO reply; default the machine's host name. */
    SMTP_HOSTNAME: z.string().min(1).optional(),
    /** PEM certificate (chain) and key files for STARTTLS; unset = STARTTLS is not offered (plain SMTP only). */
    SMTP_TLS_CERT_FILE: z.string().min(1).optional(),
    SMTP_TLS_KEY_FILE: z.string().min(1).optional(),
    /** Largest message accepted (SIZE, 552 beyond); default 35 MiB (a 25 MB attachment base64-encoded). */
    SMTP_MAX_MESSAGE_BYTES: int(36_700_160, 1_024),
    /** Connections at once, in total and per client IP address (421 beyond). */
    SMTP_MAX_CLIENTS: int(200, 1),
    SMTP_MAX_CONNECTIONS_PER_IP: int(10, 1),
    /** Mail transactions (MAIL FROM) per client IP address per minute (451 beyond). */
    SMTP_MAX_MESSAGES_PER_IP_PER_MINUTE: int(120, 1),
    /** Domains of smart-BCC addresses; a recipient at another domain is refused (550) without a lookup. Unset = every
     * recipient is looked up at identity-connections. */
    SMART_BCC_DOMAINS: env.list().optional(),
    /** Senders accepted besides the user's connected mailbox address: addresses or `@domain` (BCC-1 sender check). */
    SMART_BCC_ALLOWED_SENDERS: env.list().optional(),
    /** How long a smart-BCC address lookup (found or not found) is reused. */
    SMART_BCC_LOOKUP_CACHE_SECONDS: int(60, 0),
    /** SYN-10 completeness audit: how often each mailbox is compared with the provider (0: only on demand). */
    AUDIT_INTERVAL_MINUTES: int(15, 0),
    /** How far back an audit lists the provider's messages (never before the mailbox's start point). */
    AUDIT_WINDOW_HOURS: int(24, 1),
    /** Messages younger than this (or observed less than this ago) are in flight, not missing. */
    AUDIT_GRACE_MINUTES: z.coerce.number().min(0).default(2),
  })
  .superRefine((c, ctx) => {
    if (c.OBSERVED_MESSAGE_RETENTION_DAYS <= c.GAP_RELIST_MAX_DAYS) {
      ctx.addIssue({
        code: 'custom',
        path: ['OBSERVED_MESSAGE_RETENTION_DAYS'],
        message: 'must be more than GAP_RELIST_MAX_DAYS (a re-list must find the ids it already published)',
      });
    }
    if (c.AUDIT_WINDOW_HOURS >= c.OBSERVED_MESSAGE_RETENTION_DAYS * 24) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUDIT_WINDOW_HOURS'],
        message:
          'must be less than OBSERVED_MESSAGE_RETENTION_DAYS in hours (the audit must find the outcomes it lists)',
      });
    }
    checkObjectStoreSettings(c, ctx);
  });

export type MailGatewayConfig = z.infer<typeof mailGatewayConfigSchema>;

/** Injection token of the validated configuration. */
export const MAIL_GATEWAY_CONFIG = Symbol('MAIL_GATEWAY_CONFIG');

export function loadMailGatewayConfig(source: Env): MailGatewayConfig {
  return loadConfig(mailGatewayConfigSchema, source);
}

/** mail-gateway's expiring rows (the platform prunes them hourly). */
export function retentionRulesOf(c: MailGatewayConfig): RetentionRule[] {
  return [
    {
      table: 'observed_messages',
      keyColumns: ['mailbox_id', 'provider_message_id'],
      writtenAtColumn: 'observed_at',
      retentionHours: c.OBSERVED_MESSAGE_RETENTION_DAYS * 24,
    },
    {
      // The ledger of outcomes (SYN-10) lives as long as the observed ids it accounts for.
      table: 'message_ledger',
      keyColumns: ['mailbox_id', 'provider_message_id'],
      writtenAtColumn: 'recorded_at',
      retentionHours: c.OBSERVED_MESSAGE_RETENTION_DAYS * 24,
    },
    {
      // SYN-7: known mailbox states, as long as the ids they belong to.
      table: 'message_states',
      keyColumns: ['mailbox_id', 'provider_message_id'],
      writtenAtColumn: 'updated_at',
      retentionHours: c.OBSERVED_MESSAGE_RETENTION_DAYS * 24,
    },
  ];
}

/** SND-4 caps, read by conversations too (same names and meaning: 0 is no cap). */
export function sendingCapsOf(c: MailGatewayConfig): SendingCaps {
  return { google: c.SEND_CAP_GOOGLE_PER_DAY, microsoft: c.SEND_CAP_MICROSOFT_PER_DAY };
}

export function gmailPushAudienceOf(c: MailGatewayConfig): string {
  return c.GMAIL_PUSH_AUDIENCE ?? `${c.PUBLIC_URL.replace(/\/$/, '')}/v1/webhooks/gmail`;
}

export function pickupDirOf(c: MailGatewayConfig): string {
  if (c.LOCATION_PROVIDER_PICKUP_DIR) return path.resolve(c.LOCATION_PROVIDER_PICKUP_DIR);
  const base = c.OBJECT_STORE_KIND === 'local' ? path.dirname(path.resolve(c.OBJECT_STORE_DIR)) : c.DATA_DIR;
  return path.resolve(base, 'mail-pickup');
}

/** Default Auto-BCC SMTP port when SMTP_PORT is unset. */
export const DEFAULT_SMTP_PORT = 2525;
