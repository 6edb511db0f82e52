import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import type { ProviderName } from '@mailbridge/contracts';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import { deriveSecret } from '../vault/token-cipher';
import { TokenVault } from '../vault/token-vault';
import { OAuthStateEntity } from './oauth-state.entity';
import { OAuthStateError, StateClaims, signState, verifyState } from './oauth-state';
import { queryRows } from '@mailbridge/platform-persistence';

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
    @InjectRepository(OAuthStateEntity) private readonly repo: Repository<OAuthStateEntity>,
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
    await this.repo.insert({
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
    await this.repo.delete({ expiresAt: LessThan(new Date(now.getTime() - 3_600_000)) });
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
    const rows = await queryRows<{
      location_id: string;
      user_id: string;
      return_url: string;
      code_verifier_enc: string;
      expires_at: Date;
    }>(
      this.repo.manager,
      `DELETE FROM identity_connections.oauth_states WHERE state_id = $1 AND provider = $2
       RETURNING location_id, user_id, return_url, code_verifier_enc, expires_at`,
      [claims.id, claims.provider],
    );
    const row = rows[0];
    if (!row) throw new OAuthStateError('state_already_used', claims.returnUrl);
    if (row.expires_at.getTime() <= Date.now()) throw new OAuthStateError('state_expired', claims.returnUrl);
    return {
      locationId: row.location_id,
      userId: row.user_id,
      returnUrl: row.return_url,
      codeVerifier: this.vault.openVerifier(claims.id, row.code_verifier_enc),
    };
  }
}
