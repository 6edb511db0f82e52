import { Injectable } from '@nestjs/common';
import { eventCatalog, mailboxAuditedV1, mailboxSyncHealthChangedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { ConnectionsRepository } from './connections.repository';
import { ConnectionLifecycleService } from './connection-lifecycle.service';

const MAILBOX_EVENTS = [mailboxSyncHealthChangedV1, mailboxAuditedV1] as const;

/**
 * CON-2: keeps last-synced-at and last error per connection from mail-gateway's mailbox health reports, and the
 * latest completeness audit report (SYN-10: `lastAuditAt`, `completeness`, `.../email-connection/audit`).
 */
@Injectable()
export class SyncHealthConsumer {
  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly lifecycle: ConnectionLifecycleService,
  ) {}

  @OnEvent(MAILBOX_EVENTS, { group: 'sync-health' })
  async onMailboxEvent(event: EventOf<typeof MAILBOX_EVENTS>, tx: TransactionContext): Promise<void> {
    if (eventCatalog.is(event, mailboxAuditedV1)) {
      const p = event.payload;
      const report = {
        window: p.window,
        checkedAt: p.checkedAt,
        providerMessages: p.providerMessages,
        accounted: p.accounted,
        missing: p.missing,
        healed: p.healed,
        status: p.status,
      };
      await this.connections.applyAudit(
        tx.manager,
        p.connections.map((c) => ({ connectionId: c.connectionId, locationId: c.locationId, report })),
      );
      return;
    }
    const p = event.payload;
    const observedAt = new Date(event.occurredAt);
    const watch = p.watch
      ? {
          expiresAt: p.watch.expiresAt ? new Date(p.watch.expiresAt) : null,
          renewalFailures: p.watch.renewalFailures,
        }
      : undefined;
    const applied = await this.connections.applyHealth(
      tx.manager,
      p.connections.map((c) => ({
        connectionId: c.connectionId,
        locationId: c.locationId,
        stage: p.stage,
        lastSyncedAt: p.lastSyncedAt ? new Date(p.lastSyncedAt) : null,
        lastError: p.lastError,
        observedAt,
        watch,
      })),
    );
    // CON-7: failing renewals may make (or end) a warning; told once per change, in this transaction.
    // The rows the UPDATE changed come back with it (issue 16: not read again); the others are read as before.
    if (applied.length > 0 && watch) {
      const written = new Map(applied.map((c) => [c.connectionId, c]));
      for (const c of p.connections) {
        const connection =
          written.get(c.connectionId) ?? (await this.connections.findById(c.connectionId, tx.manager));
        if (!connection || connection.locationId !== c.locationId) continue;
        if (this.lifecycle.refreshWarning(tx, connection, observedAt)) {
          await this.connections.save(tx.manager, connection);
        }
      }
    }
  }
}
