import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { mailboxNotificationReceivedV1 } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { AppError, LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { PushTokenVerifier, PushVerificationError, decodeGmailPush } from '@mailbridge/providers-google';
import { clientStateMatches, parseGraphNotifications } from '@mailbridge/providers-microsoft';
import { GatewayMetrics } from '../common/gateway.metrics';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { PushRedeliveries } from './push-redeliveries';

export type IntakeOutcome = 'accepted' | 'ignored' | 'redelivery';

/** Pub/Sub retries an unacknowledged push with backoff up to 10 minutes apart; an entry takes ~200 bytes (4 MB). */
const REDELIVERY_MEMORY = { rememberMs: 15 * 60_000, maxRemembered: 20_000 };

/**
 * The webhook request path: authenticate, hand off durably (the outbox, committed before we answer), answer.
 * Nothing else happens here: the pull runs after, from the hand-off. Unauthenticated requests are refused (401),
 * counted, and leave nothing behind.
 */
@Injectable()
export class WebhookIntakeUseCase implements OnApplicationBootstrap {
  private readonly redeliveries = new PushRedeliveries(REDELIVERY_MEMORY);

  constructor(
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    private readonly pushVerifier: PushTokenVerifier,
    private readonly mailboxes: MailboxesRepository,
    private readonly metrics: GatewayMetrics,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.GMAIL_PUSH_SERVICE_ACCOUNT) {
      this.logger.warn(
        'GMAIL_PUSH_SERVICE_ACCOUNT is not set: every Gmail push is refused; Gmail mailboxes sync by the safety-net poll only',
      );
    }
  }

  /** Gmail via Pub/Sub push: the OIDC token is verified before the body is even looked at. */
  async gmailPush(authorization: string | undefined, body: unknown): Promise<IntakeOutcome> {
    try {
      await this.pushVerifier.verify(authorization);
    } catch (error) {
      const reason = error instanceof PushVerificationError ? error.reason : 'invalid_token';
      this.reject('google', reason);
      throw new AppError('unauthenticated', 'invalid_push_token', 'Push token rejected');
    }
    const push = decodeGmailPush(body);
    if (!push) {
      // Authentic but unreadable: acknowledge, or Pub/Sub would redeliver it for a week.
      this.metrics.webhookRequests.inc({ provider: 'google', outcome: 'ignored' });
      this.logger.warn('authenticated Gmail push without a readable notification; acknowledged');
      return 'ignored';
    }
    const mailboxKey = `google:${push.emailAddress.trim().toLowerCase()}`;
    // A redelivered push (same id) is not handed off a second time: see PushRedeliveries.
    // The history id too: a redelivery carries the same one, so a reused or empty message id never hides new mail.
    const pushId = push.messageId ? `${mailboxKey}\n${push.historyId}\n${push.messageId}` : undefined;
    const outcome = await this.redeliveries.once(pushId, () =>
      this.uow.run(async (tx) => {
        tx.emit(mailboxNotificationReceivedV1, {
          provider: 'google',
          mailboxKey,
          historyId: push.historyId.slice(0, 40),
          receivedAt: new Date().toISOString(),
        });
      }),
    );
    if (outcome === 'redelivery') {
      this.metrics.webhookRequests.inc({ provider: 'google', outcome: 'redelivery' });
      return 'redelivery';
    }
    this.metrics.webhookRequests.inc({ provider: 'google', outcome: 'accepted' });
    return 'accepted';
  }

  /**
   * Graph change and lifecycle notifications: each item's clientState must match its subscription's (constant-time
   * compare). Items that fail are dropped; a request with no authentic item is refused with 401.
   */
  async graphNotifications(body: unknown): Promise<number> {
    const items = parseGraphNotifications(body);
    const targets = await this.mailboxes.subscriptionTargets([
      ...new Set(items.map((i) => i.subscriptionId)),
    ]);
    const authentic = items.flatMap((item) => {
      const target = targets.get(item.subscriptionId);
      return target && clientStateMatches(item.clientState, target.clientStateDigest)
        ? [{ item, mailboxKey: target.mailboxKey }]
        : [];
    });
    if (authentic.length < items.length) {
      this.metrics.webhookRejected.inc(
        { provider: 'microsoft', reason: 'invalid_client_state' },
        items.length - authentic.length,
      );
    }
    if (authentic.length === 0) {
      this.reject('microsoft', 'malformed', items.length === 0);
      throw new AppError('unauthenticated', 'invalid_client_state', 'Notification not authenticated');
    }
    const receivedAt = new Date().toISOString();
    await this.uow.run(async (tx) => {
      for (const { item, mailboxKey } of authentic) {
        tx.emit(mailboxNotificationReceivedV1, {
          provider: 'microsoft',
          mailboxKey,
          subscriptionId: item.subscriptionId.slice(0, 200),
          ...(item.lifecycleEvent ? { lifecycleEvent: item.lifecycleEvent } : {}),
          ...(item.changeType ? { changeType: item.changeType.slice(0, 64) } : {}),
          ...(item.resource ? { resource: item.resource.slice(0, 2000) } : {}),
          receivedAt,
        });
      }
    });
    this.metrics.webhookRequests.inc({ provider: 'microsoft', outcome: 'accepted' });
    return authentic.length;
  }

  private reject(provider: 'google' | 'microsoft', reason: string, countReason = true): void {
    if (countReason) this.metrics.webhookRejected.inc({ provider, reason });
    this.metrics.webhookRequests.inc({ provider, outcome: 'rejected' });
  }
}
