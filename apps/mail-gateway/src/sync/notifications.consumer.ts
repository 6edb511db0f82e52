import { Injectable } from '@nestjs/common';
import { mailboxNotificationReceivedV1 } from '@mailbridge/contracts';
import { ConsumerContext, EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { HandleNotificationUseCase, NOTIFICATIONS_GROUP } from './handle-notification.use-case';
import { SyncScheduler } from './sync-scheduler.service';

/**
 * The webhooks' durable hand-off → a pull, done by the scheduler (never inside this handler: no partition stalls).
 * Outside the transaction only to count it and nudge the scheduler once the pull request committed.
 */
@Injectable()
export class NotificationsConsumer {
  constructor(
    private readonly handle: HandleNotificationUseCase,
    private readonly scheduler: SyncScheduler,
  ) {}

  @OnEvent(mailboxNotificationReceivedV1, { group: NOTIFICATIONS_GROUP, transaction: false })
  async onNotification(
    event: EventOf<typeof mailboxNotificationReceivedV1>,
    consumer: ConsumerContext,
  ): Promise<void> {
    let mailboxId: string | undefined;
    await consumer.handleOnce(async (tx) => {
      mailboxId = await this.handle.execute(tx, event.payload);
    });
    this.handle.countHandled(event.payload);
    if (mailboxId) this.scheduler.nudge(mailboxId);
  }
}
