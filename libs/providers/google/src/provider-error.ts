/**
 * What a provider failure means for the caller, whatever the provider said. Every Google error is reduced to one of
 * these at the edge (here), once; the gateway's policies (retry, pause, gap handling) only ever see these codes.
 */
export type ProviderErrorCode =
  /** The grant or the token is no good (401 after a refresh, revoked consent, missing scope). */
  | 'auth_revoked'
  /** Slow down: quota or concurrency exceeded. `retryAfterMs` when the provider said how long. */
  | 'rate_limited'
  /** Worth retrying later: 5xx, network failure, timeout. The request may or may not have been applied. */
  | 'temporary'
  | 'not_found'
  /** The sync cursor (Gmail historyId) is older than the provider keeps. */
  | 'cursor_expired'
  /** The request itself is wrong (400, 413): retrying the same request will fail again. */
  | 'invalid_request';

export class GoogleProviderError extends Error {
  readonly provider = 'google' as const;

  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    readonly details: {
      /** HTTP status, when there was a response. */
      readonly status?: number;
      /** Google's `errors[0].reason`, e.g. `userRateLimitExceeded`. */
      readonly reason?: string;
      readonly retryAfterMs?: number;
      /** A 401: the access token was refused; one refresh is worth trying before calling the grant dead. */
      readonly tokenRejected?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'GoogleProviderError';
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
