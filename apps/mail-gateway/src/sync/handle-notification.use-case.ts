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

/**
 * Issue 16: a batch's Gmail change pushes of one mailbox as one (the highest history id, the latest receipt), where
 * the first of them stood; every other notification (Graph, lifecycle) stays as it is, in order. The same rows as
 * applying them one by one: a pull request keeps the greatest history id asked and the latest notification time, and
 * a push the cursor already covers asks nothing (if the highest is covered, all are).
 */
export function coalesceGmailPushes(notifications: readonly Notification[]): Notification[] {
  const out: Notification[] = [];
  const merged = new Map<string, number>();
  for (const n of notifications) {
    if (requestedHistoryOf(n) === undefined) {
      out.push(n);
      continue;
    }
    const at = merged.get(n.mailboxKey);
    if (at === undefined) {
      merged.set(n.mailboxKey, out.length);
      out.push(n);
      continue;
    }
    const kept = out[at];
    out[at] = {
      ...kept,
      historyId: greaterHistory(kept.historyId, n.historyId),
      receivedAt: Date.parse(n.receivedAt) > Date.parse(kept.receivedAt) ? n.receivedAt : kept.receivedAt,
    };
  }
  return out;
}

/**
 * The greater of two Gmail history ids (decimal strings of any length). One that is not a number asks the pull for
 * everything (`requestPull` takes it as no bound), so it wins, as it would applied after or before the other.
 */
function greaterHistory(a: string | undefined, b: string | undefined): string | undefined {
  const digits = (v: string | undefined) =>
    v !== undefined && /^[0-9]{1,40}$/.test(v) ? v.replace(/^0+(?=.)/, '') : undefined;
  const [x, y] = [digits(a), digits(b)];
  if (x === undefined) return a;
  if (y === undefined) return b;
  if (x.length !== y.length) return x.length > y.length ? x : y;
  return x > y ? x : y;
}
