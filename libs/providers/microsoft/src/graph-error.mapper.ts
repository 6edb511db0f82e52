import { MicrosoftProviderError } from './provider-error';

const AUTH_CODES = new Set([
  'ErrorAccessDenied',
  'Authorization_RequestDenied',
  'InvalidAuthenticationToken',
  'AuthenticationError',
]);

/** `Retry-After` as seconds or an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

interface GraphErrorLike {
  statusCode?: number;
  status?: number;
  code?: string | null;
  message?: string;
  headers?: { get(name: string): string | null } | Record<string, string>;
}

function retryAfterOf(headers: GraphErrorLike['headers']): number | undefined {
  if (!headers) return undefined;
  const value =
    typeof (headers as Headers).get === 'function'
      ? (headers as Headers).get('retry-after')
      : (headers as Record<string, string>)['retry-after'];
  return parseRetryAfter(value);
}

/**
 * Reduces anything a Graph call can throw (the client's GraphError, fetch failures, timeouts, our own upload errors)
 * to a {@link MicrosoftProviderError}.
 */
export function mapGraphError(error: unknown, operation: string): MicrosoftProviderError {
  if (error instanceof MicrosoftProviderError) return error;
  const e = (error ?? {}) as GraphErrorLike;
  const status = e.statusCode ?? e.status;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const text = `${operation}: ${e.message || code || 'request failed'}`;
  // The client reports -1 when no response came back (network failure, abort, timeout).
  if (status === undefined || status <= 0)
    return new MicrosoftProviderError('temporary', text, { reason: code });
  const details = { status, reason: code, retryAfterMs: retryAfterOf(e.headers) };
  if (status === 429) return new MicrosoftProviderError('rate_limited', text, details);
  if (status === 401)
    return new MicrosoftProviderError('auth_revoked', text, { ...details, tokenRejected: true });
  if (status === 403) {
    return new MicrosoftProviderError(
      code && !AUTH_CODES.has(code) ? 'invalid_request' : 'auth_revoked',
      text,
      details,
    );
  }
  if (status === 404) return new MicrosoftProviderError('not_found', text, details);
  if (status === 410) return new MicrosoftProviderError('cursor_expired', text, details);
  if (status === 408 || status >= 500) return new MicrosoftProviderError('temporary', text, details);
  return new MicrosoftProviderError('invalid_request', text, details);
}
