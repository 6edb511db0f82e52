/**
 * What went wrong, in terms the HTTP edge (and a consumer's retry policy) can act on. Domain and use-case code throws
 * errors that carry a `code` and a `kind`; only the edge turns a kind into a status code.
 */
export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rule_refusal'
  | 'rate_limited'
  | 'unavailable';

export class AppError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rule_refusal: 422,
  rate_limited: 429,
  unavailable: 503,
};

export function isAppErrorLike(
  e: unknown,
): e is { kind: ErrorKind; code: string; message: string; details?: unknown } {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { kind?: unknown }).kind === 'string' &&
    (e as { kind: string }).kind in STATUS_BY_KIND
  );
}
