import { Injectable } from '@nestjs/common';
import { Topics, type EventEnvelope } from '@mailbridge/contracts';
import { OnEvent } from '@mailbridge/platform-runtime';
import { HandleNotificationUseCase, NOTIFICATIONS_GROUP } from './handle-notification.use-case';
import { SyncScheduler } from './sync-scheduler.service';

/** The webhooks' durable hand-off → a pull, done by the scheduler (never inside this handler: no partition stalls). */
@Injectable()
export class NotificationsConsumer {
  constructor(
    private readonly handle: HandleNotificationUseCase,
    private readonly scheduler: SyncScheduler,
  ) {}

  @OnEvent({ topic: Topics.mailNotifications, group: NOTIFICATIONS_GROUP })
  async onNotification(event: EventEnvelope): Promise<void> {
    const mailboxId = await this.handle.execute(event);
    if (mailboxId) this.scheduler.nudge(mailboxId);
  }
}
