import { HttpError } from '../shared/http-kit';

/** Graph's error body; `innerError` (date, request ids) is filled in when the response is written. */
export function graphError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): HttpError {
  return new HttpError(status, { error: { code, message } }, headers);
}

export const graphErrors = {
  unauthenticated: (message = 'Access token validation failure. Invalid audience.') =>
    graphError(401, 'InvalidAuthenticationToken', message, { 'www-authenticate': 'Bearer realm=""' }),
  expired: () =>
    graphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.'),
  accessDenied: () =>
    graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.'),
  notFound: () => graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'),
  invalidRequest: (message: string) => graphError(400, 'ErrorInvalidRequest', message),
  badRequest: (message: string) => graphError(400, 'BadRequest', message),
  tooLarge: () => graphError(413, 'RequestBodyTooLarge', 'The maximum request length supported is 4MB.'),
  throttled: (retryAfterSeconds: number) =>
    new HttpError(
      429,
      {
        error: {
          code: 'TooManyRequests',
          message: 'Please retry again later.',
          innerError: { code: '429', message: 'Please retry after', status: '429' },
        },
      },
      { 'retry-after': String(retryAfterSeconds) },
    ),
  concurrency: (retryAfterSeconds: number) =>
    graphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
      'retry-after': String(retryAfterSeconds),
    }),
  injected: (status: number, retryAfterSeconds?: number): HttpError => {
    const headers: Record<string, string> =
      retryAfterSeconds !== undefined || status === 429 || status === 503
        ? { 'retry-after': String(retryAfterSeconds ?? 1) }
        : {};
    switch (status) {
      case 401:
        return graphErrors.unauthenticated('Lifetime validation failed, the token is expired.');
      case 403:
        return graphErrors.accessDenied();
      case 404:
        return graphErrors.notFound();
      case 410:
        return graphError(
          410,
          'syncStateNotFound',
          'The sync state generation was not found. Please re-sync.',
          headers,
        );
      case 429:
        return graphErrors.throttled(retryAfterSeconds ?? 1);
      case 500:
        return graphError(
          500,
          'ErrorInternalServerError',
          'An internal server error occurred. The operation failed.',
          headers,
        );
      case 503:
        return graphError(
          503,
          'ServiceUnavailable',
          'The service is temporarily unavailable. Please try again later.',
          headers,
        );
      case 504:
        return graphError(504, 'GatewayTimeout', 'The gateway did not receive a timely response.', headers);
      default:
        return graphError(
          status,
          status >= 500 ? 'UnknownError' : 'BadRequest',
          'Injected failure.',
          headers,
        );
    }
  },
};
