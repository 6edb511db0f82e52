import type { ProviderName } from '@mailbridge/contracts';

/**
 * What a provider failure means for the caller, whatever the provider said. Each provider client reduces its errors to
 * one of these at the edge, once; the gateway's policies (retry, pause, gap handling) only ever see these codes.
 */
export type ProviderErrorCode =
  /** The grant or the token is no good (401 after a refresh, revoked consent, missing scope). */
  | 'auth_revoked'
  /** Slow down: quota or concurrency exceeded. `retryAfterMs` when the provider said how long. */
  | 'rate_limited'
  /** Worth retrying later: 5xx, network failure, timeout. The request may or may not have been applied. */
  | 'temporary'
  | 'not_found'
  /** The sync cursor (Gmail historyId, Graph deltaLink) is older than the provider keeps. */
  | 'cursor_expired'
  /** The request itself is wrong (400, 413): retrying the same request will fail again. */
  | 'invalid_request';

export interface ProviderErrorDetails {
  /** HTTP status, when there was a response. */
  readonly status?: number;
  /** The provider's own reason, e.g. Google's `userRateLimitExceeded` or Graph's `ApplicationThrottled`. */
  readonly reason?: string;
  readonly retryAfterMs?: number;
  /** A 401: the access token was refused; one refresh is worth trying before calling the grant dead. */
  readonly tokenRejected?: boolean;
}

/** Base of each provider client's error; the subclass names the provider. */
export abstract class ProviderError extends Error {
  abstract readonly provider: ProviderName;

  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    readonly details: ProviderErrorDetails = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }

  get tokenRejected(): boolean {
    return this.details.tokenRejected === true;
  }

  get status(): number | undefined {
    return this.details.status;
  }
}
