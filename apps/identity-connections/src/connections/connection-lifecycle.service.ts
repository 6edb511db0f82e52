import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  ProviderName,
  SyncScope,
  connectionConnectedV1,
  connectionDisconnectedV1,
  connectionReactivatedV1,
  connectionReauthRequiredV1,
  connectionSettingsChangedV1,
  connectionUpdatedV1,
  connectionWarningV1,
} from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { AppError, LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ConsentedMailbox, mailboxKeyOf } from '../oauth-clients/oauth-provider';
import { TokenRevocationsService } from './token-revocations.service';
import { TokenVault } from '../vault/token-vault';
import { TokenVaultRepository } from '../vault/token-vault.repository';
import { ConnectionEntity } from './connection.entity';
import { DEFAULT_SYNC_SCOPE, toSnapshot } from './connection-snapshot';
import { ConnectionsRepository } from './connections.repository';
import { isUniqueViolation } from '@mailbridge/platform-persistence';
import { AdminConsentRequestsRepository } from './admin-consent-requests.repository';
import { type ConnectionWarning, connectionWarning, renewalOf, sameWarning } from './connection-warning.rule';

/** How a completed consent changed the user's connection. */
export type EstablishOutcome = 'connected' | 'updated' | 'reactivated' | 'renewed';

/**
 * The connection lifecycle (CON-2..CON-5): every state change and its event commit together; provider calls
 * (revocation) happen after the commit, never inside the transaction.
 */
@Injectable()
export class ConnectionLifecycleService {
  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly vaultRows: TokenVaultRepository,
    private readonly vault: TokenVault,
    private readonly revocations: TokenRevocationsService,
    private readonly adminConsents: AdminConsentRequestsRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * A user consented to a mailbox. No current connection → connected (CON-1). The same mailbox as the current one →
   * the same connection, active again (CON-5: its identity, cursors and threads survive). Another mailbox → update
   * email (CON-3): a new connection replaces the current one, whose grant is then revoked.
   */
  async establish(input: {
    locationId: string;
    userId: string;
    provider: ProviderName;
    mailbox: ConsentedMailbox;
  }): Promise<{ outcome: EstablishOutcome; connection: ConnectionEntity }> {
    const { locationId, userId, provider, mailbox } = input;
    const mailboxKey = mailboxKeyOf(provider, mailbox.emailAddress);
    const now = new Date();
    let replaced: string | undefined;
    let result: { outcome: EstablishOutcome; connection: ConnectionEntity };
    try {
      result = await this.uow.run(async (tx) => {
        const m = tx.manager;
        if (await this.connections.heldByAnotherUser(m, locationId, userId, mailboxKey)) {
          throw new AppError(
            'conflict',
            'mailbox_connected_by_another_user',
            'Another user of this location has already connected this mailbox',
          );
        }
        const current = await this.connections.findLive(locationId, userId, m);
        if (current && current.mailboxKey === mailboxKey) {
          const wasWaiting = current.status === 'reauth_required';
          Object.assign(current, {
            status: 'active',
            emailAddress: mailbox.emailAddress,
            providerAccountId: mailbox.providerAccountId,
            grantedScopes: mailbox.grantedScopes.join(' '),
            reauthReason: null,
            reauthAt: null,
            refreshExpiresAt: mailbox.refreshTokenExpiresAt ?? null,
            updatedAt: now,
          });
          this.refreshWarning(tx, current, now);
          await this.connections.save(m, current);
          await this.adminConsents.clear(m, locationId, userId);
          await this.storeTokens(m, current.connectionId, mailbox, now);
          if (wasWaiting) tx.emit(connectionReactivatedV1, { connection: toSnapshot(current) });
          return { outcome: wasWaiting ? 'reactivated' : 'renewed', connection: current };
        }
        const connection = Object.assign(new ConnectionEntity(), {
          connectionId: randomUUID(),
          locationId,
          userId,
          provider,
          emailAddress: mailbox.emailAddress,
          mailboxKey,
          providerAccountId: mailbox.providerAccountId,
          grantedScopes: mailbox.grantedScopes.join(' '),
          status: 'active',
          // A policy the user chose survives an update to another mailbox of the same provider.
          syncScope:
            current && current.provider === provider ? current.syncScope : DEFAULT_SYNC_SCOPE[provider],
          connectedAt: now,
          updatedAt: now,
          endedAt: null,
          replacedBy: null,
          reauthReason: null,
          reauthAt: null,
          syncStage: null,
          lastSyncedAt: null,
          lastError: null,
          healthAt: null,
          lastAuditAt: null,
          auditReport: null,
          refreshExpiresAt: mailbox.refreshTokenExpiresAt ?? null,
          warning: null,
          renewalFailures: null,
          watchExpiresAt: null,
          sendAs: null,
          sendAsReadAt: null,
          // The signature setting is the user's choice, like the sync scope: it survives an update of the mailbox.
          appendSignature: current?.appendSignature ?? false,
          crmSignature: current?.crmSignature ?? null,
        } satisfies ConnectionEntity);
        if (current) {
          Object.assign(current, {
            status: 'replaced',
            endedAt: now,
            replacedBy: connection.connectionId,
            updatedAt: now,
          });
          await this.connections.save(m, current);
          await this.vaultRows.moveToRevocation(m, current, now);
          replaced = current.connectionId;
        }
        await this.connections.insert(m, connection);
        await this.adminConsents.clear(m, locationId, userId);
        await this.storeTokens(m, connection.connectionId, mailbox, now);
        if (current) {
          tx.emit(connectionUpdatedV1, {
            connection: toSnapshot(connection),
            previousConnectionId: current.connectionId,
          });
          if (this.refreshWarning(tx, connection, now)) await this.connections.save(m, connection);
          return { outcome: 'updated', connection };
        }
        tx.emit(connectionConnectedV1, { connection: toSnapshot(connection) });
        if (this.refreshWarning(tx, connection, now)) await this.connections.save(m, connection);
        return { outcome: 'connected', connection };
      });
    } catch (error) {
      // Two callbacks for one (location, user) at once: the unique index lets exactly one win.
      if (isUniqueViolation(error)) {
        throw new AppError(
          'conflict',
          'concurrent_connect',
          'Another connect flow finished at the same time',
        );
      }
      throw error;
    }
    if (replaced) await this.revocations.revokeNow(replaced);
    this.logger.info(
      { connectionId: result.connection.connectionId, provider, outcome: result.outcome, replaced },
      'mailbox connection established',
    );
    return result;
  }

  /**
   * CON-7: recomputes the connection's warning; a new or changed one is told once (`connection.warning`), in the
   * same transaction as the change that caused it. Returns whether the stored warning changed.
   */
  refreshWarning(tx: Pick<TransactionContext, 'emit'>, connection: ConnectionEntity, now: Date): boolean {
    const next: ConnectionWarning | null = connectionWarning({
      provider: connection.provider,
      status: connection.status,
      grantedScopes: connection.grantedScopes.split(/\s+/).filter(Boolean),
      refreshTokenExpiresAt: connection.refreshExpiresAt,
      renewal: renewalOf(connection),
      now,
    });
    if (sameWarning(connection.warning, next)) return false;
    connection.warning = next;
    if (next) {
      tx.emit(connectionWarningV1, {
        locationId: connection.locationId,
        userId: connection.userId,
        connection: toSnapshot(connection),
        warning: {
          code: next.code,
          message: next.message.slice(0, 1000),
          expiresAt: next.expiresAt,
          ...(next.missingScopes ? { missingScopes: [...next.missingScopes] } : {}),
        },
        detectedAt: now.toISOString(),
      });
    }
    return true;
  }

  private async storeTokens(
    m: EntityManager,
    connectionId: string,
    mailbox: ConsentedMailbox,
    now: Date,
  ): Promise<void> {
    const sealed = this.vault.sealConnection(connectionId, mailbox.contents);
    await this.vaultRows.put(m, connectionId, sealed, mailbox.contents.access.expiresAt, now);
  }

  /** CON-4: sync stops both ways, the grant is revoked at the provider, recorded messages stay. */
  async disconnect(locationId: string, userId: string): Promise<ConnectionEntity> {
    const now = new Date();
    const ended = await this.uow.run(async (tx) => {
      const current = await this.connections.findLive(locationId, userId, tx.manager);
      if (!current)
        throw new AppError('not_found', 'connection_not_found', 'There is no email connection to disconnect');
      Object.assign(current, { status: 'disconnected', endedAt: now, updatedAt: now });
      await this.connections.save(tx.manager, current);
      await this.vaultRows.moveToRevocation(tx.manager, current, now);
      tx.emit(connectionDisconnectedV1, {
        connection: toSnapshot(current),
        disconnectedAt: now.toISOString(),
      });
      return current;
    });
    await this.revocations.revokeNow(ended.connectionId);
    this.logger.info({ connectionId: ended.connectionId, provider: ended.provider }, 'mailbox disconnected');
    return ended;
  }

  /**
   * CON-7: a Microsoft tenant refused the connect until its administrator consents. Recorded for the status, and told
   * as `connection.warning` (with the user's current connection, if any, else none).
   */
  async recordAdminConsentRequired(input: {
    locationId: string;
    userId: string;
    adminConsentUrl: string;
    providerError: string;
  }): Promise<void> {
    const now = new Date();
    await this.uow.run(async (tx) => {
      await this.adminConsents.record(tx.manager, {
        locationId: input.locationId,
        userId: input.userId,
        provider: 'microsoft',
        adminConsentUrl: input.adminConsentUrl,
        providerError: input.providerError,
        requestedAt: now,
      });
      const current = await this.connections.findLive(input.locationId, input.userId, tx.manager);
      tx.emit(connectionWarningV1, {
        locationId: input.locationId,
        userId: input.userId,
        connection: current ? toSnapshot(current) : null,
        warning: {
          code: 'admin_consent_required',
          message:
            'The Microsoft tenant lets only its administrator consent to Mailbridge: an administrator must open ' +
            'adminConsentUrl and accept, then the user connects again.',
          expiresAt: null,
          adminConsentUrl: input.adminConsentUrl,
        },
        detectedAt: now.toISOString(),
      });
    });
  }

  /** CON-5: the provider rejected the grant. Once per episode: only an active connection changes (and says so). */
  async markReauthRequired(connectionId: string, reason: string): Promise<boolean> {
    const now = new Date();
    const changed = await this.uow.run(async (tx) => {
      const connection = await this.connections.markReauthRequired(tx.manager, connectionId, reason, now);
      if (!connection) return false;
      tx.emit(connectionReauthRequiredV1, {
        connection: toSnapshot(connection),
        reason: reason.slice(0, 200),
        detectedAt: now.toISOString(),
      });
      return true;
    });
    if (changed) this.logger.warn({ connectionId, reason }, 'connection needs re-authentication');
    return changed;
  }

  /** SYN-3 policy change; a PATCH that changes nothing publishes nothing. */
  async changeSettings(
    locationId: string,
    userId: string,
    settings: { syncScope?: SyncScope; appendSignature?: boolean; signature?: string | null },
  ): Promise<ConnectionEntity> {
    return this.uow.run(async (tx) => {
      const current = await this.connections.findLive(locationId, userId, tx.manager);
      if (!current) throw new AppError('not_found', 'connection_not_found', 'There is no email connection');
      // SND-7: the signature setting is read at send time (mail-gateway asks for it): no event needed.
      const signature =
        settings.signature === undefined ? current.crmSignature : settings.signature?.trim() || null;
      const appendSignature = settings.appendSignature ?? current.appendSignature;
      if (signature !== current.crmSignature || appendSignature !== current.appendSignature) {
        Object.assign(current, { crmSignature: signature, appendSignature });
        await this.connections.save(tx.manager, current);
      }
      if (settings.syncScope === undefined || settings.syncScope === current.syncScope) return current;
      Object.assign(current, { syncScope: settings.syncScope, updatedAt: new Date() });
      await this.connections.save(tx.manager, current);
      tx.emit(connectionSettingsChangedV1, { connection: toSnapshot(current) });
      return current;
    });
  }
}
