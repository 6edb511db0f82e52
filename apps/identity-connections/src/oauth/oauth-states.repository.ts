import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThan, Repository } from 'typeorm';
import type { ProviderName } from '@mailbridge/contracts';
import { queryRows } from '@mailbridge/platform-persistence';
import { OAuthStateEntity } from './oauth-state.entity';

/** A started OAuth flow's server side, as consumed at the callback. */
export interface ConsumedStateRow {
  readonly locationId: string;
  readonly userId: string;
  readonly returnUrl: string;
  readonly codeVerifierEnc: string;
  readonly expiresAt: Date;
}

/** `oauth_states`: one row per started flow, deleted as its callback reads it. */
@Injectable()
export class OAuthStatesRepository {
  constructor(@InjectRepository(OAuthStateEntity) private readonly repo: Repository<OAuthStateEntity>) {}

  async insert(row: OAuthStateEntity): Promise<void> {
    await this.repo.insert(row);
  }

  /** Abandoned flows that expired before `before`. */
  async deleteExpiredBefore(before: Date): Promise<void> {
    await this.repo.delete({ expiresAt: LessThan(before) });
  }

  /** Single use: the row is deleted as it is read (null when already used or never started). */
  async take(stateId: string, provider: ProviderName): Promise<ConsumedStateRow | null> {
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
      [stateId, provider],
    );
    const row = rows[0];
    return row
      ? {
          locationId: row.location_id,
          userId: row.user_id,
          returnUrl: row.return_url,
          codeVerifierEnc: row.code_verifier_enc,
          expiresAt: row.expires_at,
        }
      : null;
  }
}
