import { Injectable } from '@nestjs/common';
import { connectionEvents } from '@mailbridge/contracts';
import { ConsumerContext, EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { SyncScheduler } from './sync-scheduler.service';
import {
  ApplyConnectionChangeUseCase,
  CONNECTIONS_GROUP,
} from '../mailboxes/apply-connection-change.use-case';

/**
 * Connection lifecycle from identity-connections → which mailboxes are watched. Outside the transaction only to
 * nudge the scheduler once the change committed (the provider work happens there, never in this handler).
 */
@Injectable()
export class ConnectionsConsumer {
  constructor(
    private readonly applyChange: ApplyConnectionChangeUseCase,
    private readonly scheduler: SyncScheduler,
  ) {}

  @OnEvent(connectionEvents, { group: CONNECTIONS_GROUP, transaction: false })
  async onConnectionEvent(event: EventOf<typeof connectionEvents>, consumer: ConsumerContext): Promise<void> {
    let mailboxId: string | undefined;
    await consumer.handleOnce(async (tx) => {
      mailboxId = await this.applyChange.execute(tx, event);
    });
    if (mailboxId) this.scheduler.nudge(mailboxId);
  }
}
