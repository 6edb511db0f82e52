import { Inject, Injectable } from '@nestjs/common';
import type { ProviderName } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import { AppError, LOGGER } from '@mailbridge/platform-runtime';
import { OAuthProviders } from '../oauth-clients/oauth-providers';
import { ProviderRequestError, ReauthRequiredError } from '../oauth-clients/provider-errors';
import { VaultCorruptError, VaultKeyMissingError } from '../vault/token-cipher';
import { TokenVault } from '../vault/token-vault';
import { TokenVaultRepository } from '../vault/token-vault.repository';
import type { AccessGrant, VaultContents } from '../vault/vault-contents';
import type { ConnectionEntity } from './connection.entity';
import { ConnectionLifecycleService } from './connection-lifecycle.service';
import { ConnectionsRepository } from './connections.repository';

/** Refresh when less than this is left, so the gateway never starts a call with a token about to die. */
export const MIN_REMAINING_MS = 5 * 60_000;
/**
 * After a forced refresh, further forced requests within this window get its result: a burst of 401s (many calls
 * made with the same stale token) must make one refresh, not one per straggler.
 */
const FORCED_BURST_WINDOW_MS = 3_000;

export interface AccessTokenView {
  readonly connectionId: string;
  readonly provider: ProviderName;
  readonly emailAddress: string;
  readonly accessToken: string;
  readonly expiresAt: string;
}

/** The connection is over (disconnected or replaced): its tokens are gone for good. */
export class ConnectionEndedError extends Error {
  readonly code = 'connection_ended';
  constructor(readonly status: string) {
    super(`The connection has ended (${status})`);
    this.name = 'ConnectionEndedError';
  }
}

/**
 * Fresh access tokens for mail-gateway. Single-flight per connection: concurrent requests that need a refresh share
 * one provider call. (Across replicas two refreshes can race; both providers keep earlier grants valid, and the
 * last result stored wins, so that is harmless.)
 */
@Injectable()
export class AccessTokenService {
  private readonly inflight = new Map<string, Promise<AccessTokenView>>();
  /** When this process last completed a forced refresh, per connection. */
  private readonly lastForced = new Map<string, number>();

  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly vaultRows: TokenVaultRepository,
    private readonly vault: TokenVault,
    private readonly providers: OAuthProviders,
    private readonly lifecycle: ConnectionLifecycleService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async accessToken(connectionId: string, forceRefresh = false): Promise<AccessTokenView> {
    const requestedAt = new Date();
    const flight = this.inflight.get(connectionId);
    if (flight) return flight;
    const connection = await this.usableConnection(connectionId);
    const row = await this.vaultRows.get(connectionId);
    if (row && !forceRefresh && row.accessExpiresAt.getTime() - Date.now() > MIN_REMAINING_MS) {
      return this.view(connection, this.open(connectionId, row.secretEnc).access);
    }
    return this.singleFlight(connectionId, () => this.refresh(connection, forceRefresh, requestedAt));
  }

  private singleFlight(connectionId: string, work: () => Promise<AccessTokenView>): Promise<AccessTokenView> {
    const existing = this.inflight.get(connectionId);
    if (existing) return existing;
    const flight = work().finally(() => this.inflight.delete(connectionId));
    this.inflight.set(connectionId, flight);
    return flight;
  }

  private async usableConnection(connectionId: string): Promise<ConnectionEntity> {
    const connection = await this.connections.findById(connectionId);
    if (!connection) throw new AppError('not_found', 'connection_not_found', 'Unknown connection');
    if (connection.status === 'disconnected' || connection.status === 'replaced') {
      throw new ConnectionEndedError(connection.status);
    }
    if (connection.status === 'reauth_required') throw this.reauthError();
    return connection;
  }

  private reauthError(): AppError {
    return new AppError('conflict', 'reauth_required', 'The user must reconnect this mailbox (CON-5)');
  }

  private open(connectionId: string, secretEnc: string): VaultContents {
    try {
      return this.vault.openConnection(connectionId, secretEnc);
    } catch (error) {
      if (error instanceof VaultKeyMissingError || error instanceof VaultCorruptError) {
        this.logger.error({ connectionId, code: error.code }, 'stored token cannot be decrypted');
        throw new AppError('unavailable', error.code, 'The stored token cannot be decrypted');
      }
      throw error;
    }
  }

  /**
   * A forced refresh (the provider just answered 401) is not repeated when the stored token was obtained after the
   * request arrived (it cannot be the copy that failed), nor right after another forced refresh (a burst). A token
   * obtained at consent and revoked right after is still refreshed, so the dead grant is noticed (CON-5).
   */
  private async refresh(
    connection: ConnectionEntity,
    force: boolean,
    requestedAt: Date,
  ): Promise<AccessTokenView> {
    const { connectionId } = connection;
    // Re-read inside the flight: another request (or replica) may have refreshed meanwhile.
    const row = await this.vaultRows.get(connectionId);
    if (!row) {
      await this.usableConnection(connectionId);
      await this.lifecycle.markReauthRequired(connectionId, 'token_missing');
      throw this.reauthError();
    }
    const stored = this.open(connectionId, row.secretEnc);
    const now = Date.now();
    if (!force && row.accessExpiresAt.getTime() - now > MIN_REMAINING_MS)
      return this.view(connection, stored.access);
    const burst = now - (this.lastForced.get(connectionId) ?? 0) < FORCED_BURST_WINDOW_MS;
    if (force && (row.refreshedAt >= requestedAt || burst) && row.accessExpiresAt.getTime() > now) {
      return this.view(connection, stored.access);
    }
    let next: VaultContents;
    try {
      next = await this.providers
        .get(connection.provider)
        .refresh(stored.secrets, connection.providerAccountId, force);
    } catch (error) {
      if (error instanceof ReauthRequiredError) {
        await this.lifecycle.markReauthRequired(connectionId, error.reason);
        throw this.reauthError();
      }
      if (error instanceof ProviderRequestError) {
        this.logger.warn(
          {
            connectionId,
            provider: connection.provider,
            providerError: error.providerError,
            status: error.status,
          },
          'access token refresh failed',
        );
        throw new AppError(
          'unavailable',
          'provider_unavailable',
          `The provider did not issue a token (${error.providerError})`,
        );
      }
      throw error;
    }
    const sealed = this.vault.sealConnection(connectionId, next);
    if (!(await this.vaultRows.putIfActive(connectionId, sealed, next.access.expiresAt, new Date()))) {
      // Disconnected, replaced or flagged while we were at the provider: report what it is now.
      await this.usableConnection(connectionId);
      throw this.reauthError();
    }
    if (force) this.lastForced.set(connectionId, Date.now());
    this.logger.info(
      {
        connectionId,
        provider: connection.provider,
        forced: force,
        expiresAt: next.access.expiresAt.toISOString(),
      },
      'access token refreshed',
    );
    return this.view(connection, next.access);
  }

  private view(connection: ConnectionEntity, access: AccessGrant): AccessTokenView {
    return {
      connectionId: connection.connectionId,
      provider: connection.provider,
      emailAddress: connection.emailAddress,
      accessToken: access.accessToken,
      expiresAt: access.expiresAt.toISOString(),
    };
  }
}
