/** A call from one service to another's `/internal/...` routes (bearer service token, bounded time). */
export interface InternalServiceRequest {
  readonly baseUrl: string;
  /** Path with any ids already URL-encoded, e.g. `/internal/connections/${encodeURIComponent(id)}/access-token`. */
  readonly path: string;
  readonly token: string;
  readonly timeoutMs: number;
  readonly method?: 'GET' | 'POST';
  /** Sent as a JSON body. */
  readonly json?: unknown;
}

/** The answer: its status and its JSON body (undefined when the body is not JSON). */
export interface InternalServiceResponse {
  readonly status: number;
  readonly body: unknown;
}

/** The other service could not be reached, or did not answer in time. */
export class InternalServiceUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    super(`${new URL(url).host} unreachable: ${(cause as Error).message}`);
    this.name = 'InternalServiceUnreachableError';
  }
}

/**
 * One request; the whole body is always read, so the connection goes back to the pool whatever the status.
 * Callers map statuses to their own errors.
 */
export async function callInternalService(req: InternalServiceRequest): Promise<InternalServiceResponse> {
  const url = `${req.baseUrl.replace(/\/$/, '')}${req.path}`;
  try {
    const res = await fetch(url, {
      method: req.method ?? 'GET',
      headers: {
        authorization: `Bearer ${req.token}`,
        ...(req.json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(req.json !== undefined ? { body: JSON.stringify(req.json) } : {}),
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } catch (error) {
    throw new InternalServiceUnreachableError(url, error);
  }
}
