/**
 * What can go wrong at a provider, reduced to what the service acts on. Messages and codes are built from the
 * provider's error *codes* only: never from a request, a response body or a library error object, which can carry
 * tokens (a gaxios error holds the request form, with the refresh token in it).
 */

/** The grant is dead (Google `invalid_grant`, MSAL InteractionRequiredAuthError): the user must consent again (CON-5). */
export class ReauthRequiredError extends Error {
  readonly code = 'reauth_required';
  constructor(readonly reason: string) {
    super(`The provider rejected the grant (${reason})`);
    this.name = 'ReauthRequiredError';
  }
}

/** A provider call failed; `providerError` is the provider's own short code (e.g. `invalid_client`). */
export class ProviderRequestError extends Error {
  readonly code = 'provider_error';
  constructor(
    readonly providerError: string,
    /** Worth retrying later (network, 429, 5xx). */
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(`Provider call failed (${providerError}${status ? `, HTTP ${status}` : ''})`);
    this.name = 'ProviderRequestError';
  }
}

/** The user unticked a scope sync needs (granular consent). */
export class InsufficientScopeError extends Error {
  readonly code = 'insufficient_scope';
  constructor(readonly missing: readonly string[]) {
    super(`Consent is missing: ${missing.join(', ')}`);
    this.name = 'InsufficientScopeError';
  }
}

/**
 * CON-7: Microsoft answered consent_required / AADSTS65001 to an interactive sign-in: the tenant lets only an
 * administrator consent to the app. The user cannot fix this alone; the tenant admin's consent URL can.
 */
export class AdminConsentRequiredError extends Error {
  readonly code = 'admin_consent_required';
  constructor(readonly providerError: string) {
    super(`The tenant requires an administrator to consent to the app (${providerError})`);
    this.name = 'AdminConsentRequiredError';
  }
}

/** consent_required, or an AADSTS65001 description: the shapes Entra uses for "nobody consented". */
export function isConsentRequired(error: string | undefined, description: string | undefined): boolean {
  return error === 'consent_required' || /\bAADSTS65001\b/.test(description ?? '');
}

/** Only `[a-z0-9_.-]`, bounded: safe to put in a redirect, a log line or an event. */
export function safeCode(value: unknown, fallback = 'unknown_error'): string {
  if (typeof value !== 'string') return fallback;
  const cleaned = value
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '_')
    .slice(0, 64);
  return cleaned || fallback;
}

/** Network failures, timeouts, throttling and server errors are transient; the rest is a refusal. */
export function isTransientStatus(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}
