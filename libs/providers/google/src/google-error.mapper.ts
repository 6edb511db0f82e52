import { GoogleProviderError, type ProviderErrorCode } from './provider-error';

const RATE_LIMIT_REASONS = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'dailyLimitExceeded',
  'quotaExceeded',
  'concurrentLimitExceeded',
]);
const AUTH_REASONS = new Set(['insufficientPermissions', 'authError', 'domainPolicy', 'forbidden']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'TimeoutError',
  'AbortError',
]);

function networkCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } } | undefined;
  for (const code of [e?.code, e?.cause?.code])
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  return undefined;
}

interface GaxiosLike {
  status?: number;
  code?: string | number;
  message?: string;
  response?: { status?: number; headers?: unknown; data?: unknown };
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, unknown>;
  const value = record[name] ?? record[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function googleReason(data: unknown): { reason?: string; message?: string } {
  const error = (data as { error?: unknown } | undefined)?.error;
  if (!error || typeof error !== 'object') return {};
  const e = error as { message?: unknown; errors?: Array<{ reason?: unknown }> };
  const reason = e.errors?.[0]?.reason;
  return {
    reason: typeof reason === 'string' ? reason : undefined,
    message: typeof e.message === 'string' ? e.message : undefined,
  };
}

/**
 * Reduces anything a Gmail call can throw (gaxios errors, network failures) to a {@link GoogleProviderError}.
 * `context.notFound` says what a 404 means for this call: a stale history cursor for `history.list`.
 */
export function mapGoogleError(
  error: unknown,
  context: { operation: string; notFound?: ProviderErrorCode } = { operation: 'gmail' },
): GoogleProviderError {
  if (error instanceof GoogleProviderError) return error;
  const e = (error ?? {}) as GaxiosLike;
  const status = e.response?.status ?? e.status;
  const { reason, message } = googleReason(e.response?.data);
  const text = `${context.operation}: ${message ?? e.message ?? 'request failed'}`;
  // No response at all (connection refused, reset, timeout): the call may or may not have reached Google.
  if (status === undefined) return new GoogleProviderError('temporary', text, { reason: networkCode(error) });
  const retryAfterMs = parseRetryAfter(header(e.response?.headers, 'retry-after'));
  const details = { status, reason, retryAfterMs };
  if (status === 429 || (status === 403 && reason !== undefined && RATE_LIMIT_REASONS.has(reason))) {
    return new GoogleProviderError('rate_limited', text, details);
  }
  if (status === 401)
    return new GoogleProviderError('auth_revoked', text, { ...details, tokenRejected: true });
  if (status === 403) {
    return new GoogleProviderError(
      reason === undefined || AUTH_REASONS.has(reason) ? 'auth_revoked' : 'invalid_request',
      text,
      details,
    );
  }
  if (status === 404) return new GoogleProviderError(context.notFound ?? 'not_found', text, details);
  if (status === 408 || status >= 500) return new GoogleProviderError('temporary', text, details);
  return new GoogleProviderError('invalid_request', text, details);
}
