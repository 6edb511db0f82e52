import { GraphError } from '@microsoft/microsoft-graph-client';
import { mapGraphError } from './graph-error.mapper';
import { clientStateDigest, clientStateMatches, parseGraphNotifications } from './graph-notification';

const graphError = (status: number, code: string, headers: Record<string, string> = {}) => {
  const e = new GraphError(status, 'message');
  e.code = code;
  e.headers = new Headers(headers);
  return e;
};

describe('Graph errors reduced at the edge', () => {
  it.each([
    [429, 'ApplicationThrottled', 'rate_limited'],
    [401, 'InvalidAuthenticationToken', 'auth_revoked'],
    [403, 'ErrorAccessDenied', 'auth_revoked'],
    [404, 'ErrorItemNotFound', 'not_found'],
    [410, 'syncStateNotFound', 'cursor_expired'],
    [400, 'InvalidInternetMessageHeader', 'invalid_request'],
    [413, 'RequestEntityTooLarge', 'invalid_request'],
    [503, 'ServiceUnavailable', 'temporary'],
    [-1, 'TypeError', 'temporary'],
  ])('%i %s → %s', (status, code, expected) => {
    expect(mapGraphError(graphError(status, code), 'op').code).toBe(expected);
  });

  it('keeps Retry-After and marks a 401 as a refused token', () => {
    expect(mapGraphError(graphError(429, 'TooManyRequests', { 'retry-after': '3' }), 'op').retryAfterMs).toBe(
      3000,
    );
    expect(mapGraphError(graphError(401, 'InvalidAuthenticationToken'), 'op').tokenRejected).toBe(true);
  });
});

describe('Graph notifications', () => {
  it('compares clientState against its stored digest only', () => {
    const digest = clientStateDigest('s3cret-state');
    expect(clientStateMatches('s3cret-state', digest)).toBe(true);
    expect(clientStateMatches('s3cret-statf', digest)).toBe(false);
    expect(clientStateMatches(undefined, digest)).toBe(false);
    expect(clientStateMatches('', digest)).toBe(false);
  });

  it('parses change and lifecycle items, leaving malformed ones out', () => {
    expect(
      parseGraphNotifications({
        value: [
          { subscriptionId: 's1', clientState: 'c', changeType: 'created', resource: 'r' },
          { subscriptionId: 's2', lifecycleEvent: 'missed' },
          { subscriptionId: 's3', lifecycleEvent: 'somethingElse' },
          { clientState: 'no subscription' },
          null,
        ],
      }),
    ).toEqual([
      { subscriptionId: 's1', clientState: 'c', changeType: 'created', resource: 'r' },
      { subscriptionId: 's2', lifecycleEvent: 'missed' },
      { subscriptionId: 's3' },
    ]);
    expect(parseGraphNotifications({ nope: true })).toEqual([]);
  });
});
