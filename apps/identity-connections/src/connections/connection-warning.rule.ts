import type { ProviderName } from '@mailbridge/contracts';

/**
 * CON-7: a connection's end is often predictable. This is the one place that says when, and why, the CRM should warn
 * the user before the connection turns `reauth_required`. Pure: no clock of its own, no I/O.
 */
export type ConnectionWarningCode =
  'refresh_token_expiring' | 'renewal_failing' | 'scope_missing' | 'admin_consent_required';

export const CONNECTION_WARNING_CODES: readonly ConnectionWarningCode[] = [
  'refresh_token_expiring',
  'renewal_failing',
  'scope_missing',
  'admin_consent_required',
];

export interface ConnectionWarning {
  readonly code: ConnectionWarningCode;
  readonly message: string;
  /** When the connection is expected to stop working (ISO 8601), if known. */
  readonly expiresAt: string | null;
  readonly missingScopes?: readonly string[];
  readonly adminConsentUrl?: string;
}

export interface WarningInput {
  readonly provider: ProviderName;
  readonly status: string;
  readonly grantedScopes: readonly string[];
  /** When the refresh token dies whatever we do (Google "Testing" apps: 7 days after consent); null if unlimited. */
  readonly refreshTokenExpiresAt: Date | null;
  /** Watch (Gmail) / subscription (Graph) renewals failing in a row, and when the current one expires. */
  readonly renewal?: { readonly consecutiveFailures: number; readonly expiresAt: Date | null } | null;
  readonly now: Date;
}

/** Warn this long before a known refresh-token end (a Testing-mode token, at 7 days, warns from the start). */
export const REFRESH_EXPIRY_WARNING_MS = 14 * 86_400_000;
/** Renewals failing this many times in a row: the watch/subscription will lapse unless something changes. */
export const RENEWAL_FAILURES_BEFORE_WARNING = 3;

/** Scopes sync needs, per provider (any one of each inner list suffices). */
const NEEDED_SCOPES: Record<ProviderName, ReadonlyArray<readonly string[]>> = {
  google: [['https://www.googleapis.com/auth/gmail.modify', 'https://mail.google.com/']],
  microsoft: [['mail.readwrite'], ['mail.send']],
};

export function missingScopes(provider: ProviderName, granted: readonly string[]): string[] {
  const have = new Set(
    granted.map((s) => s.toLowerCase().replace(/^https:\/\/graph\.microsoft\.com\//, '')).filter(Boolean),
  );
  return NEEDED_SCOPES[provider]
    .filter((anyOf) => !anyOf.some((s) => have.has(s.toLowerCase())))
    .map((anyOf) => (provider === 'microsoft' ? capitalise(anyOf[0]) : anyOf[0]));
}

const capitalise = (s: string) =>
  s.replace(/(^|\.)([a-z])/g, (_m, dot: string, c: string) => dot + c.toUpperCase());

/**
 * The most urgent warning for an active connection, or null. Order: a missing scope breaks sync now; then the
 * earliest known end (refresh token or lapsing watch).
 */
export function connectionWarning(input: WarningInput): ConnectionWarning | null {
  if (input.status !== 'active') return null;
  const missing = missingScopes(input.provider, input.grantedScopes);
  if (missing.length > 0) {
    return {
      code: 'scope_missing',
      message: `The mailbox grant lacks ${missing.join(', ')}: sync cannot work fully until the user connects again and allows it.`,
      expiresAt: null,
      missingScopes: missing,
    };
  }
  const candidates: ConnectionWarning[] = [];
  const refreshEnd = input.refreshTokenExpiresAt;
  if (refreshEnd && refreshEnd.getTime() - input.now.getTime() <= REFRESH_EXPIRY_WARNING_MS) {
    candidates.push({
      code: 'refresh_token_expiring',
      message:
        input.provider === 'google'
          ? `Google limits this grant (an OAuth app in "Testing" publishing status): the connection stops on ${refreshEnd.toISOString()} unless the user connects again.`
          : `The provider limits this grant: the connection stops on ${refreshEnd.toISOString()} unless the user connects again.`,
      expiresAt: refreshEnd.toISOString(),
    });
  }
  const renewal = input.renewal;
  if (renewal && renewal.consecutiveFailures >= RENEWAL_FAILURES_BEFORE_WARNING) {
    const what = input.provider === 'google' ? 'Gmail watch' : 'Microsoft Graph subscription';
    candidates.push({
      code: 'renewal_failing',
      message: `Renewing the ${what} failed ${renewal.consecutiveFailures} times in a row${
        renewal.expiresAt ? `; it lapses on ${renewal.expiresAt.toISOString()}` : ''
      } and new mail would then arrive only by polling or stop.`,
      expiresAt: renewal.expiresAt?.toISOString() ?? null,
    });
  }
  if (candidates.length === 0) return null;
  const at = (w: ConnectionWarning) => (w.expiresAt ? Date.parse(w.expiresAt) : Number.POSITIVE_INFINITY);
  return candidates.sort((a, b) => at(a) - at(b))[0];
}

/** The renewal input of a stored connection (null before mail-gateway reported any). */
export function renewalOf(c: {
  renewalFailures: number | null;
  watchExpiresAt: Date | null;
}): WarningInput['renewal'] {
  return c.renewalFailures === null
    ? null
    : { consecutiveFailures: c.renewalFailures, expiresAt: c.watchExpiresAt };
}

/** Same warning (code and date): nothing new to tell. */
export function sameWarning(a: ConnectionWarning | null, b: ConnectionWarning | null): boolean {
  return (a?.code ?? null) === (b?.code ?? null) && (a?.expiresAt ?? null) === (b?.expiresAt ?? null);
}

/**
 * The tenant administrator's consent page (Microsoft identity platform `adminconsent` endpoint), from the configured
 * authority: after it the users of that tenant can connect.
 */
export function adminConsentUrl(
  authorityHost: string,
  tenant: string,
  clientId: string,
  redirectUri: string,
) {
  const url = new URL(`${new URL(authorityHost).origin}/${encodeURIComponent(tenant)}/adminconsent`);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', redirectUri);
  return url.toString();
}
