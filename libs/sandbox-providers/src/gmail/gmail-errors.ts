import { HttpError } from '../shared/http-kit';

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  412: 'FAILED_PRECONDITION',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** Google's v1 error JSON: `{error:{code,message,errors:[{message,domain,reason}],status}}`. */
export function gmailError(
  code: number,
  message: string,
  reason: string,
  extra: { location?: string; locationType?: string; status?: string; headers?: Record<string, string> } = {},
): HttpError {
  const item: Record<string, string> = { message, domain: 'global', reason };
  if (extra.location) {
    item.location = extra.location;
    item.locationType = extra.locationType ?? 'header';
  }
  return new HttpError(
    code,
    { error: { code, message, errors: [item], status: extra.status ?? STATUS[code] ?? 'UNKNOWN' } },
    extra.headers,
  );
}

export const gmailErrors = {
  unauthenticated: () =>
    gmailError(
      401,
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      'authError',
      {
        location: 'Authorization',
        headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      },
    ),
  insufficientScopes: () =>
    gmailError(403, 'Request had insufficient authentication scopes.', 'insufficientPermissions', {
      headers: {
        'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="insufficient_scope"',
      },
    }),
  notFound: () => gmailError(404, 'Requested entity was not found.', 'notFound'),
  invalidArgument: (message: string) => gmailError(400, message, 'invalidArgument'),
  badRequest: (message: string) => gmailError(400, message, 'badRequest'),
  delegationDenied: (email: string) => gmailError(403, `Delegation denied for ${email}`, 'forbidden'),
  tooLarge: (limit: number) =>
    gmailError(413, `Request payload size exceeds the limit: ${limit} bytes.`, 'badRequest'),
  userRateLimit: (retryAfter: Date, status: 403 | 429) =>
    status === 429
      ? gmailError(
          429,
          `User-rate limit exceeded.  Retry after ${retryAfter.toISOString()}`,
          'rateLimitExceeded',
        )
      : gmailError(
          403,
          `User-rate limit exceeded.  Retry after ${retryAfter.toISOString()}`,
          'userRateLimitExceeded',
        ),
  /** The body an injected fault of this status answers with. */
  injected: (status: number, retryAfterSeconds?: number) => {
    const headers: Record<string, string> =
      retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {};
    switch (status) {
      case 401:
        return gmailErrors.unauthenticated();
      case 403:
        return gmailError(403, 'Rate Limit Exceeded', 'rateLimitExceeded', { headers });
      case 404:
        return gmailErrors.notFound();
      case 429:
        return gmailError(429, 'Too many concurrent requests for user.', 'rateLimitExceeded', { headers });
      case 500:
        return gmailError(500, 'Backend Error', 'backendError', { headers });
      case 503:
        return gmailError(503, 'The service is currently unavailable.', 'backendError', { headers });
      default:
        return gmailError(
          status,
          status >= 500 ? 'Backend Error' : 'Bad Request',
          status >= 500 ? 'backendError' : 'badRequest',
          {
            headers,
          },
        );
    }
  },
};
