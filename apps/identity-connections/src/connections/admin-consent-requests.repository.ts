import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import type { ProviderName } from '@mailbridge/contracts';
import { ConnectionEntity } from './connection.entity';
import { queryRows } from '@mailbridge/platform-persistence';

export interface AdminConsentRequest {
  readonly locationId: string;
  readonly userId: string;
  readonly provider: ProviderName;
  readonly adminConsentUrl: string;
  readonly providerError: string;
  readonly requestedAt: Date;
}

const T = 'identity_connections.admin_consent_requests';

/**
 * CON-7: the last sign-in of a (location, user) that a Microsoft tenant refused until its administrator consents.
 * Kept until the user connects successfully, so the status can show the admin-consent URL.
 */
@Injectable()
export class AdminConsentRequestsRepository {
  constructor(@InjectRepository(ConnectionEntity) private readonly repo: Repository<ConnectionEntity>) {}

  async record(tx: EntityManager, r: AdminConsentRequest): Promise<void> {
    await queryRows(
      tx,
      `INSERT INTO ${T} (location_id, user_id, provider, admin_consent_url, provider_error, requested_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (location_id, user_id) DO UPDATE SET provider = EXCLUDED.provider,
         admin_consent_url = EXCLUDED.admin_consent_url, provider_error = EXCLUDED.provider_error,
         requested_at = EXCLUDED.requested_at`,
      [r.locationId, r.userId, r.provider, r.adminConsentUrl, r.providerError, r.requestedAt],
    );
  }

  async find(locationId: string, userId: string): Promise<AdminConsentRequest | null> {
    const rows = await queryRows<{
      provider: ProviderName;
      admin_consent_url: string;
      provider_error: string;
      requested_at: Date;
    }>(
      this.repo.manager,
      `SELECT provider, admin_consent_url, provider_error, requested_at FROM ${T}
        WHERE location_id = $1 AND user_id = $2`,
      [locationId, userId],
    );
    const row = rows[0];
    return row
      ? {
          locationId,
          userId,
          provider: row.provider,
          adminConsentUrl: row.admin_consent_url,
          providerError: row.provider_error,
          requestedAt: row.requested_at,
        }
      : null;
  }

  /** A successful connect ends the episode (inside its transaction). */
  async clear(tx: EntityManager, locationId: string, userId: string): Promise<void> {
    await queryRows(tx, `DELETE FROM ${T} WHERE location_id = $1 AND user_id = $2`, [locationId, userId]);
  }
}
