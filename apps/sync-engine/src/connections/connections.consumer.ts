import { Injectable } from '@nestjs/common';
import {
  connectionEvents,
  connectionDisconnectedV1,
  connectionUpdatedV1,
  eventCatalog,
} from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { ApplyConnectionChangeUseCase, ConnectionChange } from './apply-connection-change.use-case';

type ConnectionEvent = EventOf<typeof connectionEvents>;

/** Connection lifecycle events → the connection projection (once per event). */
@Injectable()
export class ConnectionsConsumer {
  constructor(private readonly applyChange: ApplyConnectionChangeUseCase) {}

  @OnEvent(connectionEvents, { group: 'connection-projection' })
  async onConnectionEvent(event: ConnectionEvent, tx: TransactionContext): Promise<void> {
    await this.applyChange.execute(tx, toChange(event));
  }
}

function toChange(event: ConnectionEvent): ConnectionChange {
  if (eventCatalog.is(event, connectionDisconnectedV1))
    return { kind: 'disconnected', connection: event.payload.connection, at: event.payload.disconnectedAt };
  if (eventCatalog.is(event, connectionUpdatedV1))
    return {
      kind: 'replaced',
      connection: event.payload.connection,
      previousConnectionId: event.payload.previousConnectionId,
      at: event.occurredAt,
    };
  // connected, re-authentication required, reactivated, settings changed: the snapshot says it all.
  return { kind: 'snapshot', connection: event.payload.connection, at: event.occurredAt };
}
