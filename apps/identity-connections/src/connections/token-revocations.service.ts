import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Logger } from '@mailbridge/platform-observability';
import { LOGGER } from '@mailbridge/platform-runtime';
import { ConnectionsRepository } from './connections.repository';
import { OAuthProviders } from '../oauth-clients/oauth-providers';
import { ProviderRequestError } from '../oauth-clients/provider-errors';
import type { TokenRevocationEntity } from '../vault/token-revocation.entity';
import { TokenVault } from '../vault/token-vault';
import { TokenVaultRepository } from '../vault/token-vault.repository';

const LEASE_MS = 5 * 60_000;
const SWEEP_INTERVAL_MS = 60_000;
const MAX_ATTEMPTS = 12;
const backoffMs = (attempt: number) => Math.min(6 * 3_600_000, 30_000 * 2 ** Math.max(0, attempt - 1));

/**
 * CON-4/CON-3: the grant of an ended connection is revoked at the provider, and our copy destroyed once that is
 * confirmed. A failed attempt (provider down) is retried from the queue with backoff, so a disconnect never leaves a
 * live grant behind silently.
 *
 * One exception: when another *active* connection (another location, SYN-4) uses the same mailbox, the provider
 * grant is shared (Google revokes per account and client), so revoking would cut that connection off too: then only
 * our copy is destroyed.
 */
@Injectable()
export class TokenRevocationsService implements OnModuleInit, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly repo: TokenVaultRepository,
    private readonly connections: ConnectionsRepository,
    private readonly vault: TokenVault,
    private readonly providers: OAuthProviders,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Right after the connection ended (outside its transaction). */
  async revokeNow(connectionId: string): Promise<void> {
    const now = new Date();
    const claimed = await this.repo.claimRevocations(
      now,
      new Date(now.getTime() + LEASE_MS),
      1,
      connectionId,
    );
    for (const r of claimed) await this.attempt(r);
  }

  /** Retries what is due (provider outages); runs every minute. */
  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        const now = new Date();
        const claimed = await this.repo.claimRevocations(now, new Date(now.getTime() + LEASE_MS), 20);
        for (const r of claimed) await this.attempt(r);
      } catch (err) {
        this.logger.warn({ err: { message: (err as Error).message } }, 'token revocation sweep failed');
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  private async attempt(r: TokenRevocationEntity): Promise<void> {
    const log = { connectionId: r.connectionId, provider: r.provider, attempt: r.attempts };
    try {
      const sharing = await this.connections.countActiveForMailbox(r.mailboxKey, r.connectionId);
      if (sharing === 0) {
        const { secrets } = this.vault.openConnection(r.connectionId, r.secretEnc);
        await this.providers.get(r.provider).revoke(secrets);
      }
      await this.repo.completeRevocation(r.connectionId);
      this.logger.info({ ...log, revokedAtProvider: sharing === 0 }, 'connection grant revoked');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const reason =
        error instanceof ProviderRequestError
          ? error.providerError
          : typeof code === 'string'
            ? code
            : 'error';
      const retry = error instanceof ProviderRequestError && error.transient && r.attempts < MAX_ATTEMPTS;
      if (retry) {
        await this.repo.failRevocation(r.connectionId, reason, new Date(Date.now() + backoffMs(r.attempts)));
        this.logger.warn({ ...log, reason }, 'token revocation failed; will retry');
      } else {
        // Nothing more can be done at the provider: our copy goes, which is what protects the user most.
        await this.repo.completeRevocation(r.connectionId);
        this.logger.warn({ ...log, reason }, 'token revocation given up; stored grant destroyed');
      }
    }
  }
}
