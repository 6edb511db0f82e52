import { randomBytes } from 'node:crypto';
import { OAuthStateError, signState, verifyState } from './oauth-state';

describe('OAuth state', () => {
  const secret = randomBytes(32);
  const claims = {
    id: '0b9d3c55-4a53-4b1b-9f5b-0c0e5c1f2a11',
    provider: 'google' as const,
    returnUrl: 'http://localhost:3000/settings',
    expiresAt: 2_000,
  };
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return { reason: (e as OAuthStateError).reason, returnUrl: (e as OAuthStateError).returnUrl };
    }
    throw new Error('accepted');
  };

  it('round-trips its claims before expiry', () => {
    expect(verifyState(secret, signState(secret, claims), 'google', 1_999)).toEqual(claims);
  });

  it('refuses a forged or altered state without trusting its return URL', () => {
    const state = signState(secret, claims);
    const [payload] = state.split('.');
    const altered = Buffer.from(
      JSON.stringify({ i: claims.id, p: 'google', r: 'https://evil.test', e: 9_999 }),
    ).toString('base64url');
    expect(refusal(() => verifyState(secret, `${altered}.${state.split('.')[1]}`, 'google', 1))).toEqual({
      reason: 'invalid_state',
      returnUrl: undefined,
    });
    expect(refusal(() => verifyState(randomBytes(32), state, 'google', 1)).reason).toBe('invalid_state');
    expect(refusal(() => verifyState(secret, payload, 'google', 1)).reason).toBe('invalid_state');
    expect(refusal(() => verifyState(secret, undefined, 'google', 1)).reason).toBe('invalid_state');
  });

  it('refuses an expired state or one from another provider, returning to its (signed) return URL', () => {
    const state = signState(secret, claims);
    expect(refusal(() => verifyState(secret, state, 'google', 2_000))).toEqual({
      reason: 'state_expired',
      returnUrl: claims.returnUrl,
    });
    expect(refusal(() => verifyState(secret, state, 'microsoft', 1))).toEqual({
      reason: 'invalid_state',
      returnUrl: claims.returnUrl,
    });
  });
});
