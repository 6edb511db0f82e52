// Options, URLs, the started-sandbox handle and the default credentials of the sandbox providers.
import type { ProviderName } from './control/control-types';
import type { SandboxControl } from './control/sandbox-control';
import type { Clock } from './shared/clock';
import type { ConsentSettings } from './shared/consent';
import type { RetryPolicy } from './shared/webhook-dispatcher';

export interface SandboxProvidersOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Host name used in every advertised URL and link (default: the listen address, or localhost for 0.0.0.0). */
  publicHost?: string;
  /** Fixed ports; 0 (the default) picks free ones. */
  ports?: { google?: number; gmail?: number; graph?: number; microsoft?: number };
  /** Time source for expiry, retention, quotas and timestamps (signed JWTs always use the wall clock). */
  clock?: Clock;
  /** Seed for reproducible ids. */
  seed?: number;
  /** Where to write the CA certificate (`EXTRA_CA_CERTS_FILE`); a file in the OS temp dir by default. */
  caCertFile?: string;
  /** Mailboxes to create at start. */
  mailboxes?: { provider: ProviderName; address: string; displayName?: string }[];
  google?: {
    clientId?: string;
    clientSecret?: string;
    redirectUris?: string[];
    /** Consent screen in "Testing": refresh tokens with Gmail scopes die after 7 days. */
    testingMode?: boolean;
    projectId?: string;
    /** Topic `watch` publishes to (`projects/<projectId>/topics/…`). */
    pubsubTopic?: string;
    pushEndpoint?: string;
    pushAudience?: string;
    pushServiceAccount?: string;
    historyRetentionMs?: number;
    quotaUnitsPerMinute?: number;
    quotaErrorStatus?: 403 | 429;
    jsonLimitBytes?: number;
    pushMinIntervalMs?: number;
    pushAckDeadlineMs?: number;
    pushRetry?: Partial<RetryPolicy>;
    consent?: ConsentSettings;
  };
  microsoft?: {
    clientId?: string;
    clientSecret?: string;
    redirectUris?: string[];
    permissions?: string[];
    tenant?: string;
    tenantDomain?: string;
    subscriptionMaxMinutes?: number;
    requireHttpsNotificationUrl?: boolean;
    validationTimeoutMs?: number;
    notificationTimeoutMs?: number;
    notificationRetry?: Partial<RetryPolicy>;
    consent?: ConsentSettings;
    /** The tenant lets only administrators consent to apps (AADSTS65001 for users until an admin consents). */
    adminConsentRequired?: boolean;
  };
}

export interface SandboxUrls {
  /** Google accounts: OAuth authorize/token/revoke, userinfo, certs (http). */
  google: string;
  /** Gmail API root (http); `GMAIL_API_ROOT_URL` is this plus a trailing slash. */
  gmail: string;
  /** Microsoft Graph (https). */
  graph: string;
  /** Microsoft identity platform authority host (https). */
  microsoft: string;
}

export interface SandboxProviders {
  readonly urls: SandboxUrls;
  readonly control: SandboxControl;
  /** The environment the platform reads to reach these emulators instead of Google and Microsoft. */
  platformEnv(): Record<string, string>;
  /** CA certificate of the HTTPS emulators (Graph, Microsoft identity). */
  readonly caCertPem: string;
  readonly caCertFile: string;
  close(): Promise<void>;
}

export const SANDBOX_DEFAULTS = {
  googleClientId: '871205630994-mailbridgesandbox.apps.googleusercontent.com',
  googleClientSecret: 'GOCSPX-mailbridge-sandbox-secret',
  googleProjectId: 'mailbridge-sandbox',
  pubsubTopic: 'projects/mailbridge-sandbox/topics/gmail-watch',
  pushAudience: 'https://push.sandbox.mailbridge.test/gmail',
  pushServiceAccount: 'gmail-push@mailbridge-sandbox.iam.gserviceaccount.com',
  microsoftClientId: '6f1c9a43-5d2e-4b7a-9c81-3e2d4f5a6b7c',
  microsoftClientSecret: 'mailbridge~sandbox.secret_0123456789',
  microsoftTenant: 'common',
  tenantDomain: 'sandbox.mailbridge.test',
} as const;
