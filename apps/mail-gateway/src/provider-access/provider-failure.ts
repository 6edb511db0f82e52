import { GoogleProviderError, type ProviderErrorCode } from '@mailbridge/providers-google';
import { MicrosoftProviderError } from '@mailbridge/providers-microsoft';

export type { ProviderErrorCode };

/**
 * No usable access token for a mailbox or connection. `auth_revoked`: identity-connections says the grant is dead
 * (409) or no connection can serve one; `temporary`: identity-connections is unreachable.
 */
export class AccessTokenUnavailableError extends Error {
  constructor(
    readonly code: 'auth_revoked' | 'temporary',
    message: string,
    /** The connection ended (410) rather than needing re-consent. */
    readonly connectionEnded = false,
  ) {
    super(message);
    this.name = 'AccessTokenUnavailableError';
  }
}

/** The mailbox is paused by a Retry-After longer than what is worth waiting in place. */
export class MailboxThrottledError extends Error {
  readonly code = 'rate_limited' as const;
  constructor(
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(message);
    this.name = 'MailboxThrottledError';
  }
}

/**
 * A provider call of one message that kept failing temporarily while the other calls of its batch were served: the
 * failure is that message's own (SYN-10 counts and quarantines it), not the mailbox's or the provider's.
 */
export class MessageCallFailedError extends Error {
  constructor(
    readonly failure: ProviderFailure,
    options?: { cause?: unknown },
  ) {
    super(failure.message, options);
    this.name = 'MessageCallFailedError';
  }
}

export interface ProviderFailure {
  readonly code: ProviderErrorCode;
  readonly message: string;
  readonly retryAfterMs?: number;
  readonly tokenRejected: boolean;
  readonly status?: number;
}

/** Any provider-side failure in our reduced vocabulary; undefined for everything else (bugs, database errors). */
export function asProviderFailure(error: unknown): ProviderFailure | undefined {
  if (error instanceof GoogleProviderError || error instanceof MicrosoftProviderError) {
    return {
      code: error.code,
      message: error.message,
      retryAfterMs: error.retryAfterMs,
      tokenRejected: error.tokenRejected,
      status: error.status,
    };
  }
  if (error instanceof AccessTokenUnavailableError) {
    return { code: error.code, message: error.message, tokenRejected: false };
  }
  if (error instanceof MailboxThrottledError) {
    return {
      code: 'rate_limited',
      message: error.message,
      retryAfterMs: error.retryAfterMs,
      tokenRejected: false,
    };
  }
  return undefined;
}
