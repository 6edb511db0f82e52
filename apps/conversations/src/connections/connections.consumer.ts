import { Injectable } from '@nestjs/common';
import {
  connectionDisconnectedV1,
  connectionReactivatedV1,
  connectionReauthRequiredV1,
  connectionUpdatedV1,
  connectionEvents,
  eventCatalog,
  type ConnectionSnapshot,
} from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import type { ConnectionEntity } from './connection.entity';
import { ConnectionsRepository } from './connections.repository';

type ConnectionEvent = EventOf<typeof connectionEvents>;

/** Keeps the connection projection from identity-connections' lifecycle events (once per event). */
@Injectable()
export class ConnectionsConsumer {
  constructor(private readonly connections: ConnectionsRepository) {}

  @OnEvent(connectionEvents, { group: 'connections-projection' })
  async onConnectionEvent(event: ConnectionEvent, tx: TransactionContext): Promise<void> {
    const { connection } = event.payload;
    await this.connections.apply(tx.manager, connection, statusAfter(event, connection));
    if (eventCatalog.is(event, connectionUpdatedV1)) {
      await this.connections.markReplaced(
        tx.manager,
        connection.locationId,
        event.payload.previousConnectionId,
      );
    }
  }
}

/** The event says what happened; the snapshot it carries may predate it. */
function statusAfter(event: ConnectionEvent, connection: ConnectionSnapshot): ConnectionEntity['status'] {
  if (eventCatalog.is(event, connectionDisconnectedV1)) return 'disconnected';
  if (eventCatalog.is(event, connectionReauthRequiredV1)) return 'reauth_required';
  if (eventCatalog.is(event, connectionReactivatedV1)) return 'active';
  return connection.status;
}
