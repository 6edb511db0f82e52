import { Inject, Injectable } from '@nestjs/common';
import type { ConnectionSnapshot } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { LOGGER } from '@mailbridge/platform-runtime';
import type { Logger } from '@mailbridge/platform-observability';
import { ThreadBindingRepository } from '../threads/thread-binding.repository';
import { ConnectionProjectionRepository } from './connection-projection.repository';

export type ConnectionChange =
  | { readonly kind: 'snapshot'; readonly connection: ConnectionSnapshot; readonly at: string }
  | { readonly kind: 'disconnected'; readonly connection: ConnectionSnapshot; readonly at: string }
  | {
      readonly kind: 'replaced';
      readonly connection: ConnectionSnapshot;
      readonly previousConnectionId: string;
      readonly at: string;
    };

/**
 * Keeps the connection projection, and ends the thread bindings of a connection that ended: disconnect (CON-4) or
 * update email (CON-3). Later messages of those threads are then skipped with that reason.
 */
@Injectable()
export class ApplyConnectionChangeUseCase {
  constructor(
    private readonly connections: ConnectionProjectionRepository,
    private readonly bindings: ThreadBindingRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(tx: TransactionContext, change: ConnectionChange): Promise<void> {
    const m = tx.manager;
    const snapshot =
      change.kind === 'disconnected'
        ? { ...change.connection, status: 'disconnected' as const }
        : change.connection;
    const ends = snapshot.status === 'disconnected' || snapshot.status === 'replaced';
    // Bindings of these mailboxes change: serialise with the message decisions of those mailboxes (all locks at
    // once, in order).
    const previousMailbox =
      change.kind === 'replaced' ? await this.connections.mailboxOf(m, change.previousConnectionId) : null;
    await this.bindings.lockMailboxes(m, [snapshot.mailboxKey, previousMailbox]);
    const stored = await this.connections.upsert(m, snapshot, ends ? change.at : null);
    await this.endBindingsIfEnded(tx, stored.connectionId, stored.status);

    if (change.kind === 'replaced') {
      const previous = await this.connections.markReplaced(
        m,
        change.previousConnectionId,
        snapshot,
        change.at,
      );
      await this.endBindingsIfEnded(tx, previous.connectionId, previous.status);
    }
  }

  private async endBindingsIfEnded(
    tx: TransactionContext,
    connectionId: string,
    status: string,
  ): Promise<void> {
    if (status !== 'disconnected' && status !== 'replaced') return;
    const reason = status === 'disconnected' ? 'connection_disconnected' : 'connection_replaced';
    const ended = await this.bindings.endForConnection(tx.manager, connectionId, reason);
    this.logger.info(
      { connectionId, reason, endedBindings: ended, rule: status === 'disconnected' ? 'CON-4' : 'CON-3' },
      'connection ended: its synced threads stop syncing',
    );
  }
}
