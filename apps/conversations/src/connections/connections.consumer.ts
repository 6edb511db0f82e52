import { Inject, Injectable } from '@nestjs/common';
import {
  EventEnvelope,
  Topics,
  connectionDisconnectedV1,
  connectionReactivatedV1,
  connectionReauthRequiredV1,
  connectionUpdatedV1,
  connectionEvents,
  eventCatalog,
  type ConnectionSnapshot,
} from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import type { ConnectionEntity } from './connection.entity';
import { ConnectionsRepository } from './connections.repository';

const GROUP = 'connections-projection';

/** Keeps the connection projection from identity-connections' lifecycle events (once per event). */
@Injectable()
export class ConnectionsConsumer {
  constructor(
    private readonly connections: ConnectionsRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.identityConnections, group: GROUP })
  async onConnectionEvent(event: EventEnvelope): Promise<void> {
    const def = connectionEvents.find((d) => eventCatalog.is(event, d));
    if (!def) return;
    const { connection } = event.payload as { connection: ConnectionSnapshot };
    await this.uow.handleOnce(GROUP, event, async (tx) => {
      await this.connections.apply(tx.manager, connection, statusAfter(event, connection));
      if (eventCatalog.is(event, connectionUpdatedV1)) {
        await this.connections.markReplaced(
          tx.manager,
          connection.locationId,
          event.payload.previousConnectionId,
        );
      }
    });
  }
}

/** The event says what happened; the snapshot it carries may predate it. */
function statusAfter(event: EventEnvelope, connection: ConnectionSnapshot): ConnectionEntity['status'] {
  if (eventCatalog.is(event, connectionDisconnectedV1)) return 'disconnected';
  if (eventCatalog.is(event, connectionReauthRequiredV1)) return 'reauth_required';
  if (eventCatalog.is(event, connectionReactivatedV1)) return 'active';
  return connection.status;
}
