import { Injectable } from '@nestjs/common';
import { Topics, type EventEnvelope } from '@mailbridge/contracts';
import { OnEvent } from '@mailbridge/platform-runtime';
import { SyncScheduler } from '../sync/sync-scheduler.service';
import { ApplyConnectionChangeUseCase, CONNECTIONS_GROUP } from './apply-connection-change.use-case';

/** Connection lifecycle from identity-connections → which mailboxes are watched. */
@Injectable()
export class ConnectionsConsumer {
  constructor(
    private readonly applyChange: ApplyConnectionChangeUseCase,
    private readonly scheduler: SyncScheduler,
  ) {}

  @OnEvent({ topic: Topics.identityConnections, group: CONNECTIONS_GROUP })
  async onConnectionEvent(event: EventEnvelope): Promise<void> {
    const mailboxId = await this.applyChange.execute(event);
    if (mailboxId) this.scheduler.nudge(mailboxId);
  }
}
