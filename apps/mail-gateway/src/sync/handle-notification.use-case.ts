import { Injectable } from '@nestjs/common';
import { mailboxNotificationReceivedV1, type PayloadOf } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { GatewayMetrics } from '../common/gateway.metrics';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { requestedHistoryOf } from '../mailboxes/pull-economy.policy';

export const NOTIFICATIONS_GROUP = 'notifications';

type Notification = PayloadOf<typeof mailboxNotificationReceivedV1>;

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
  ) {}

  /** Runs in the consumer's unit of work (its inbox row commits with the pull request). */
  async execute(tx: TransactionContext, p: Notification): Promise<string | undefined> {
    const mailbox = await this.mailboxes.findByKey(p.mailboxKey, tx.manager);
    if (!mailbox || mailbox.desired !== 'active') return undefined;
    if (p.subscriptionId && p.lifecycleEvent && p.lifecycleEvent !== 'missed') {
      const action = p.lifecycleEvent === 'subscriptionRemoved' ? 'recreate' : 'renew';
      if (await this.mailboxes.markSubscription(tx.manager, p.subscriptionId, action)) {
        await this.mailboxes.update(tx.manager, mailbox.id, { watchRenewAt: new Date() });
      }
    }
    // Issue 16: a Gmail push at or below the committed cursor carries nothing new: no pull, no nudge for it.
    const due = await this.mailboxes.requestPull(
      tx.manager,
      mailbox.id,
      new Date(p.receivedAt),
      requestedHistoryOf(p),
    );
    return due ? mailbox.id : undefined;
  }

  /** Every delivered notification counts, a redelivery too (as before the typed binding). */
  countHandled(p: Notification): void {
    this.metrics.notificationsHandled.inc({ provider: p.provider, kind: p.lifecycleEvent ?? 'change' });
  }
}
