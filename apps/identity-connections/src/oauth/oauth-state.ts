import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ProviderName } from '@mailbridge/contracts';

/** What the signed `state` carries: the flow's id, provider, expiry, and where to send the browser back. */
export interface StateClaims {
  readonly id: string;
  readonly provider: ProviderName;
  readonly returnUrl: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** Why a callback's state is refused; `returnUrl` is set when the state was ours (signed), so it can be trusted. */
export class OAuthStateError extends Error {
  constructor(
    readonly reason: 'invalid_state' | 'state_expired' | 'state_already_used',
    readonly returnUrl: string | undefined,
  ) {
    super(`OAuth state refused: ${reason}`);
    this.name = 'OAuthStateError';
  }
}

const mac = (secret: Buffer, payload: string) =>
  createHmac('sha256', secret).update(`mailbridge-oauth-state.v1.${payload}`).digest();

/** `<base64url JSON>.<base64url HMAC-SHA256>`: tamper-evident; single use is enforced by the stored flow row. */
export function signState(secret: Buffer, claims: StateClaims): string {
  const payload = Buffer.from(
    JSON.stringify({ i: claims.id, p: claims.provider, r: claims.returnUrl, e: claims.expiresAt }),
  ).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

export function verifyState(
  secret: Buffer,
  state: string | undefined,
  provider: ProviderName,
  nowSeconds: number,
): StateClaims {
  const [payload, signature, extra] = (state ?? '').split('.');
  if (!payload || !signature || extra !== undefined) throw new OAuthStateError('invalid_state', undefined);
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new OAuthStateError('invalid_state', undefined);
  }
  let raw: { i?: unknown; p?: unknown; r?: unknown; e?: unknown };
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof raw;
  } catch {
    throw new OAuthStateError('invalid_state', undefined);
  }
  if (
    typeof raw.i !== 'string' ||
    (raw.p !== 'google' && raw.p !== 'microsoft') ||
    typeof raw.r !== 'string' ||
    typeof raw.e !== 'number'
  ) {
    throw new OAuthStateError('invalid_state', undefined);
  }
  const claims: StateClaims = { id: raw.i, provider: raw.p, returnUrl: raw.r, expiresAt: raw.e };
  // Signed by us, so its return URL is one we allow-listed: errors from here on can go back to the CRM.
  if (claims.provider !== provider) throw new OAuthStateError('invalid_state', claims.returnUrl);
  if (claims.expiresAt <= nowSeconds) throw new OAuthStateError('state_expired', claims.returnUrl);
  return claims;
}
