import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ProviderName } from '@mailbridge/contracts';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import { deriveSecret } from '../vault/token-cipher';
import { TokenVault } from '../vault/token-vault';
import { OAuthStatesRepository } from './oauth-states.repository';
import { OAuthStateError, StateClaims, signState, verifyState } from './oauth-state';

export interface StartedFlow {
  readonly state: string;
  readonly codeChallenge: string;
}

export interface ConsumedFlow {
  readonly locationId: string;
  readonly userId: string;
  readonly returnUrl: string;
  readonly codeVerifier: string;
}

/**
 * Started connect flows. The `state` is signed (HMAC) and expires; the row it names binds location, user and
 * return URL and holds the PKCE verifier; consuming deletes the row, so a state works exactly once.
 */
@Injectable()
export class OAuthFlowsService {
  private readonly secret: Buffer;
  private readonly ttlSeconds: number;

  constructor(
    @Inject(IDENTITY_CONFIG) config: IdentityConnectionsConfig,
    private readonly states: OAuthStatesRepository,
    private readonly vault: TokenVault,
  ) {
    this.secret = config.OAUTH_STATE_SECRET
      ? Buffer.from(config.OAUTH_STATE_SECRET, 'utf8')
      : deriveSecret(config.TOKEN_ENCRYPTION_KEYS, 'oauth-state');
    this.ttlSeconds = config.OAUTH_STATE_TTL_SECONDS;
  }

  async start(input: {
    provider: ProviderName;
    locationId: string;
    userId: string;
    returnUrl: string;
  }): Promise<StartedFlow> {
    const now = new Date();
    const stateId = randomUUID();
    const codeVerifier = randomBytes(48).toString('base64url');
    const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
    const expiresAt = new Date(now.getTime() + this.ttlSeconds * 1000);
    const sealed = this.vault.sealVerifier(stateId, codeVerifier);
    await this.states.insert({
      stateId,
      provider: input.provider,
      locationId: input.locationId,
      userId: input.userId,
      returnUrl: input.returnUrl,
      keyId: sealed.keyId,
      codeVerifierEnc: sealed.value,
      expiresAt,
      createdAt: now,
    });
    // Abandoned flows are cleaned as new ones start (an expired state is refused by its signed expiry anyway).
    await this.states.deleteExpiredBefore(new Date(now.getTime() - 3_600_000));
    const state = signState(this.secret, {
      id: stateId,
      provider: input.provider,
      returnUrl: input.returnUrl,
      expiresAt: Math.floor(expiresAt.getTime() / 1000),
    });
    return { state, codeChallenge };
  }

  /** Checks signature, provider and expiry (throws OAuthStateError). */
  verify(state: string | undefined, provider: ProviderName): StateClaims {
    return verifyState(this.secret, state, provider, Math.floor(Date.now() / 1000));
  }

  /** Single use: the row is deleted as it is read; a second callback with the same state finds nothing. */
  async consume(claims: StateClaims): Promise<ConsumedFlow> {
    const row = await this.states.take(claims.id, claims.provider);
    if (!row) throw new OAuthStateError('state_already_used', claims.returnUrl);
    if (row.expiresAt.getTime() <= Date.now()) throw new OAuthStateError('state_expired', claims.returnUrl);
    return {
      locationId: row.locationId,
      userId: row.userId,
      returnUrl: row.returnUrl,
      codeVerifier: this.vault.openVerifier(claims.id, row.codeVerifierEnc),
    };
  }
}
