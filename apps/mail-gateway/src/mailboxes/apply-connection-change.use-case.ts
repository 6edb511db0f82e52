import { Inject, Injectable } from '@nestjs/common';
import {
  connectionConnectedV1,
  connectionDisconnectedV1,
  connectionReactivatedV1,
  connectionReauthRequiredV1,
  connectionSettingsChangedV1,
  connectionUpdatedV1,
  eventCatalog,
  type EventEnvelope,
} from '@mailbridge/contracts';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { SyncHealthService } from '../sync/sync-health.service';
import { MailboxesRepository } from './mailboxes.repository';

export const CONNECTIONS_GROUP = 'connections';

/**
 * Keeps the mailboxes in step with the connections pointing at them (SYN-4: one mailbox, however many connections).
 * A mailbox is watched while ≥1 of its connections is active, paused (cursor kept, CON-5) while only
 * re-authentication ones remain, and stopped when none needs it. The provider work happens after the commit.
 * Returns the mailbox to work on, if any.
 */
@Injectable()
export class ApplyConnectionChangeUseCase {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly health: SyncHealthService,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  async execute(event: EventEnvelope): Promise<string | undefined> {
    const change = this.changeOf(event);
    if (!change) return undefined;
    let affected: string | undefined;
    await this.uow.handleOnce(CONNECTIONS_GROUP, event, async (tx) => {
      const { connection } = change;
      const mailboxId = await this.mailboxes.ensure(tx.manager, {
        mailboxKey: connection.mailboxKey,
        provider: connection.provider,
        emailAddress: connection.emailAddress,
      });
      await this.mailboxes.lock(tx.manager, mailboxId);
      const changedAt = new Date(event.occurredAt);
      if (change.previousConnectionId) {
        const previous = await this.mailboxes.connectionById(tx.manager, change.previousConnectionId);
        if (previous) {
          await this.mailboxes.applyConnection(tx.manager, { ...previous, status: 'replaced', changedAt });
          if (previous.mailboxId !== mailboxId) await this.reconcile(tx, previous.mailboxId);
        }
      }
      await this.mailboxes.applyConnection(tx.manager, {
        connectionId: connection.connectionId,
        mailboxId,
        locationId: connection.locationId,
        userId: connection.userId,
        status: change.status,
        changedAt,
      });
      await this.reconcile(tx, mailboxId, change.status === 'active' ? connection.connectedAt : undefined);
      affected = mailboxId;
    });
    return affected;
  }

  /**
   * `connectedAt` (of an active connection) is a start point: a mailbox that has never been set up since it was
   * last stopped starts at the earliest connect instant of the connections that want it, not when setup happens
   * to run, so mail received between "connected" and setup is observed (loss path 4; CON-6 still holds).
   */
  private async reconcile(tx: TransactionContext, mailboxId: string, connectedAt?: string): Promise<void> {
    const mailbox = await this.mailboxes.findById(mailboxId, tx.manager);
    if (!mailbox) return;
    const desired = await this.mailboxes.desiredState(tx.manager, mailboxId);
    const wake = desired === 'active' && (mailbox.stage === 'stopped' || mailbox.stage === 'paused_auth');
    const startPoint = connectedAt ? new Date(connectedAt) : undefined;
    // No cursor yet (never set up, or stopped since): setup will start from baseline_at.
    const earlierStart =
      startPoint !== undefined &&
      mailbox.cursorSyncedAt === null &&
      mailbox.historyId === null &&
      (mailbox.baselineAt === null || startPoint < mailbox.baselineAt);
    if (desired === mailbox.desired && !wake && !earlierStart) return;
    await this.health.apply(tx, mailboxId, {
      desired,
      ...(earlierStart ? { baselineAt: startPoint } : {}),
      // (Re)starting: setup re-watches, and resumes from the cursor when there is one (CON-5).
      ...(wake ? { stage: 'starting', backoffUntil: null, failures: 0 } : {}),
    });
  }

  private changeOf(event: EventEnvelope) {
    if (eventCatalog.is(event, connectionUpdatedV1)) {
      return {
        connection: event.payload.connection,
        status: event.payload.connection.status,
        previousConnectionId: event.payload.previousConnectionId,
      };
    }
    for (const def of [
      connectionConnectedV1,
      connectionReactivatedV1,
      connectionSettingsChangedV1,
      connectionReauthRequiredV1,
      connectionDisconnectedV1,
    ]) {
      if (eventCatalog.is(event, def)) {
        const connection = event.payload.connection;
        const status =
          def === connectionDisconnectedV1
            ? 'disconnected'
            : def === connectionReauthRequiredV1
              ? 'reauth_required'
              : connection.status;
        return { connection, status, previousConnectionId: undefined };
      }
    }
    return undefined;
  }
}
