import { Injectable } from '@nestjs/common';
import { mailboxNotificationReceivedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { ConsumerContext, EventOf, OnEvent, OnEventBatch } from '@mailbridge/platform-runtime';
import {
  HandleNotificationUseCase,
  NOTIFICATIONS_GROUP,
  coalesceGmailPushes,
} from './handle-notification.use-case';
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

  /**
   * The batch path (issue 16): a batch's notifications become pull requests in one transaction, a mailbox's Gmail
   * pushes coalesced into one (two statements per mailbox, not per push: a backlog of pushes drains at the rate of
   * batches); the counts and the nudges follow its commit. If it fails, the batch goes one event at a time through `onNotification` below.
   */
  @OnEventBatch(mailboxNotificationReceivedV1, { group: NOTIFICATIONS_GROUP })
  async onNotifications(
    events: readonly EventOf<typeof mailboxNotificationReceivedV1>[],
    tx: TransactionContext,
  ): Promise<void> {
    const due = new Set<string>();
    // A mailbox's queued pushes become one pull request (a pull reads all history up to now anyway).
    for (const payload of coalesceGmailPushes(events.map((e) => e.payload))) {
      const mailboxId = await this.handle.execute(tx, payload);
      if (mailboxId) due.add(mailboxId);
    }
    tx.afterCommit(() => {
      for (const event of events) this.handle.countHandled(event.payload);
      for (const mailboxId of due) this.scheduler.nudge(mailboxId);
    });
  }

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
