import { Injectable } from '@nestjs/common';
import {
  connectionDisconnectedV1,
  connectionEvents,
  connectionReauthRequiredV1,
  connectionUpdatedV1,
  eventCatalog,
} from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import type { EventOf } from '@mailbridge/platform-runtime';
import { SyncHealthService } from './sync-health.service';
import { MailboxesRepository } from './mailboxes.repository';
import type { MailboxEntity } from './mailbox.entity';

export const CONNECTIONS_GROUP = 'connections';

type ConnectionEvent = EventOf<typeof connectionEvents>;

/**
 * Keeps the mailboxes in step with the connections pointing at them (SYN-4: one mailbox, however many connections).
 * A mailbox is watched while ≥1 of its connections is active, paused (cursor kept, CON-5) while only
 * re-authentication ones remain, and stopped when none needs it. The provider work happens after the commit.
 * Returns the mailbox to work on.
 */
@Injectable()
export class ApplyConnectionChangeUseCase {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly health: SyncHealthService,
  ) {}

  /** Runs in the consumer's unit of work (its inbox row commits with the change). */
  async execute(tx: TransactionContext, event: ConnectionEvent): Promise<string> {
    const change = changeOf(event);
    const { connection } = change;
    // Locked by the upsert, and read with it: the connection rows below do not change it.
    const mailbox = await this.mailboxes.ensure(tx.manager, {
      mailboxKey: connection.mailboxKey,
      provider: connection.provider,
      emailAddress: connection.emailAddress,
    });
    const mailboxId = mailbox.id;
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
    await this.reconcile(
      tx,
      mailboxId,
      change.status === 'active' ? connection.connectedAt : undefined,
      mailbox,
    );
    return mailboxId;
  }

  /**
   * `connectedAt` (of an active connection) is a start point: a mailbox that has never been set up since it was
   * last stopped starts at the earliest connect instant of the connections that want it, not when setup happens
   * to run, so mail received between "connected" and setup is observed (loss path 4; CON-6 still holds).
   */
  private async reconcile(
    tx: TransactionContext,
    mailboxId: string,
    connectedAt?: string,
    locked?: MailboxEntity,
  ): Promise<void> {
    const mailbox = locked ?? (await this.mailboxes.findById(mailboxId, tx.manager));
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
}

function changeOf(event: ConnectionEvent) {
  if (eventCatalog.is(event, connectionUpdatedV1)) {
    return {
      connection: event.payload.connection,
      status: event.payload.connection.status,
      previousConnectionId: event.payload.previousConnectionId,
    };
  }
  const connection = event.payload.connection;
  const status = eventCatalog.is(event, connectionDisconnectedV1)
    ? 'disconnected'
    : eventCatalog.is(event, connectionReauthRequiredV1)
      ? 'reauth_required'
      : connection.status;
  return { connection, status, previousConnectionId: undefined };
}
