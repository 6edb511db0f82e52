import { Inject, Injectable } from '@nestjs/common';
import {
  EventEnvelope,
  Topics,
  connectionConnectedV1,
  connectionDisconnectedV1,
  connectionReactivatedV1,
  connectionReauthRequiredV1,
  connectionSettingsChangedV1,
  connectionUpdatedV1,
  eventCatalog,
} from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ApplyConnectionChangeUseCase, ConnectionChange } from './apply-connection-change.use-case';

/** Connection lifecycle events → the connection projection (once per event). */
@Injectable()
export class ConnectionsConsumer {
  constructor(
    private readonly applyChange: ApplyConnectionChangeUseCase,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.identityConnections, group: 'connection-projection' })
  async onConnectionEvent(event: EventEnvelope): Promise<void> {
    const change = toChange(event);
    if (!change) return;
    await this.uow.handleOnce('connection-projection', event, (tx) => this.applyChange.execute(tx, change));
  }
}

function toChange(event: EventEnvelope): ConnectionChange | null {
  if (eventCatalog.is(event, connectionDisconnectedV1))
    return { kind: 'disconnected', connection: event.payload.connection, at: event.payload.disconnectedAt };
  if (eventCatalog.is(event, connectionUpdatedV1))
    return {
      kind: 'replaced',
      connection: event.payload.connection,
      previousConnectionId: event.payload.previousConnectionId,
      at: event.occurredAt,
    };
  for (const def of [
    connectionConnectedV1,
    connectionReauthRequiredV1,
    connectionReactivatedV1,
    connectionSettingsChangedV1,
  ]) {
    if (eventCatalog.is(event, def))
      return { kind: 'snapshot', connection: event.payload.connection, at: event.occurredAt };
  }
  return null;
}
