import { Inject, Injectable } from '@nestjs/common';
import { eventCatalog, mailboxNotificationReceivedV1, type EventEnvelope } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { GatewayMetrics } from '../common/gateway.metrics';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';

export const NOTIFICATIONS_GROUP = 'notifications';

/**
 * A handed-off notification becomes a pull request on its mailbox (several notifications coalesce into one pull).
 * Graph lifecycle events: `reauthorizationRequired` renews the subscription, `subscriptionRemoved` recreates it,
 * and all three (with `missed`) catch up by delta. Returns the mailbox to work on.
 */
@Injectable()
export class HandleNotificationUseCase {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly metrics: GatewayMetrics,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  async execute(event: EventEnvelope): Promise<string | undefined> {
    if (!eventCatalog.is(event, mailboxNotificationReceivedV1)) return undefined;
    const p = event.payload;
    let target: string | undefined;
    await this.uow.handleOnce(NOTIFICATIONS_GROUP, event, async (tx) => {
      const mailbox = await this.mailboxes.findByKey(p.mailboxKey, tx.manager);
      if (!mailbox || mailbox.desired !== 'active') return;
      if (p.subscriptionId && p.lifecycleEvent && p.lifecycleEvent !== 'missed') {
        const action = p.lifecycleEvent === 'subscriptionRemoved' ? 'recreate' : 'renew';
        if (await this.mailboxes.markSubscription(tx.manager, p.subscriptionId, action)) {
          await this.mailboxes.update(tx.manager, mailbox.id, { watchRenewAt: new Date() });
        }
      }
      await this.mailboxes.requestPull(tx.manager, mailbox.id, new Date(p.receivedAt));
      target = mailbox.id;
    });
    this.metrics.notificationsHandled.inc({ provider: p.provider, kind: p.lifecycleEvent ?? 'change' });
    return target;
  }
}
