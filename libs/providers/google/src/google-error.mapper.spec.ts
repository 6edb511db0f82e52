import { GaxiosError } from 'gaxios';
import { mapGoogleError, parseRetryAfter } from './google-error.mapper';
import { GoogleProviderError } from './provider-error';

const gaxiosError = (status: number, reason?: string, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`status ${status}`), {
    status,
    response: {
      status,
      headers: new Headers(headers),
      data: { error: { code: status, message: 'm', errors: reason ? [{ reason, domain: 'global' }] : [] } },
    },
  });

describe('Google errors reduced at the edge', () => {
  it.each([
    [429, 'rateLimitExceeded', 'rate_limited'],
    [403, 'userRateLimitExceeded', 'rate_limited'],
    [403, 'dailyLimitExceeded', 'rate_limited'],
    [403, 'insufficientPermissions', 'auth_revoked'],
    [401, 'authError', 'auth_revoked'],
    [404, 'notFound', 'not_found'],
    [400, 'invalidArgument', 'invalid_request'],
    [413, undefined, 'invalid_request'],
    [500, 'backendError', 'temporary'],
    [503, undefined, 'temporary'],
  ])('%i %s → %s', (status, reason, code) => {
    expect(mapGoogleError(gaxiosError(status, reason)).code).toBe(code);
  });

  it('a 401 is a refused token (worth one refresh), a 403 on scope is not', () => {
    expect(mapGoogleError(gaxiosError(401)).tokenRejected).toBe(true);
    expect(mapGoogleError(gaxiosError(403, 'insufficientPermissions')).tokenRejected).toBe(false);
  });

  it('a 404 from history.list means the cursor expired', () => {
    const e = mapGoogleError(gaxiosError(404, 'notFound'), {
      operation: 'history',
      notFound: 'cursor_expired',
    });
    expect(e.code).toBe('cursor_expired');
  });

  it('keeps Retry-After (seconds or HTTP date) in milliseconds', () => {
    expect(mapGoogleError(gaxiosError(429, 'rateLimitExceeded', { 'retry-after': '7' })).retryAfterMs).toBe(
      7000,
    );
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('no response at all (refused, reset, timed out) is temporary', () => {
    const e = mapGoogleError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(e).toBeInstanceOf(GoogleProviderError);
    expect(e).toMatchObject({ code: 'temporary', status: undefined });
  });

  it('understands a real GaxiosError', () => {
    const error = new GaxiosError(
      'Too many',
      { url: new URL('https://gmail.googleapis.com/x'), headers: new Headers() } as never,
      {
        status: 429,
        headers: new Headers({ 'retry-after': '2' }),
        data: { error: { errors: [{ reason: 'rateLimitExceeded' }] } },
      } as never,
    );
    expect(mapGoogleError(error)).toMatchObject({ code: 'rate_limited', retryAfterMs: 2000 });
  });
});
