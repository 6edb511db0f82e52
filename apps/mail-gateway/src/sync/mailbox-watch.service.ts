import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from '@mailbridge/platform-observability';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { GMAIL_QUOTA_UNITS, GmailApi } from '@mailbridge/providers-google';
import { GraphMailApi, clientStateDigest, type GraphFolder } from '@mailbridge/providers-microsoft';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import type { GraphFolderEntity } from '../mailboxes/graph-folder.entity';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import type { GmailRecovery } from './gmail-pull.service';
import { MailboxAccess } from '../provider-access/mailbox-access';
import { ProviderCallPolicy } from '../provider-access/provider-call.policy';
import { asProviderFailure } from '../provider-access/provider-failure';
import { SyncHealthService } from '../mailboxes/sync-health.service';

/**
 * Where a mailbox without a cursor starts: the connect instant recorded from the connection events (baseline_at),
 * never later than now; now when none is known (a mailbox set up before start points were recorded).
 */
function startPointOf(mailbox: MailboxEntity, now: Date): Date {
  return mailbox.baselineAt && mailbox.baselineAt < now ? mailbox.baselineAt : now;
}

export const GRAPH_FOLDERS: readonly GraphFolder[] = ['inbox', 'sentitems'];
const GMAIL_WATCH_LABELS = ['INBOX', 'SENT'];
const HOUR_MS = 3_600_000;

/**
 * Starting, renewing and stopping a mailbox's notifications: Gmail `users.watch` (renewed daily) and Graph
 * subscriptions on Inbox and Sent Items (renewed at half their lifetime, recreated when Graph removed them). Always
 * called under the mailbox's lease, so two replicas never renew the same subscription at once.
 */
@Injectable()
export class MailboxWatchService {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly access: MailboxAccess,
    private readonly policy: ProviderCallPolicy,
    private readonly gmail: GmailApi,
    private readonly graph: GraphMailApi,
    private readonly health: SyncHealthService,
    private readonly dataSource: DataSource,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Starts watching. Without a cursor the baseline is taken now, so past mail is not imported (CON-6); with one
   * (re-consent after CON-5) sync resumes from it.
   */
  async setup(mailbox: MailboxEntity): Promise<void> {
    if (mailbox.provider === 'google') return this.setupGmail(mailbox);
    return this.setupGraph(mailbox);
  }

  /** Renews what is due (a no-op when nothing is). */
  async renew(mailbox: MailboxEntity): Promise<void> {
    try {
      if (mailbox.provider === 'google') await this.setupGmail(mailbox);
      else {
        const renewAt = await this.ensureSubscriptions(mailbox);
        await this.uow.run((tx) => this.health.apply(tx, mailbox.id, { watchRenewAt: renewAt }));
      }
    } catch (error) {
      // CON-7: counted and reported (mailbox.sync-health-changed `watch`), so the CRM is warned before it lapses.
      await this.uow.run((tx) =>
        this.health.apply(tx, mailbox.id, { renewalFailures: mailbox.renewalFailures + 1 }),
      );
      throw error;
    }
    if (mailbox.renewalFailures > 0) {
      await this.uow.run((tx) => this.health.apply(tx, mailbox.id, { renewalFailures: 0 }));
    }
  }

  /** No active connection needs the mailbox any more: stop notifications (best effort) and forget its cursors. */
  async stop(mailbox: MailboxEntity): Promise<void> {
    const target = this.access.forMailbox(mailbox, { lastWords: true });
    try {
      if (mailbox.provider === 'google') {
        if (this.config.GMAIL_PUBSUB_TOPIC && mailbox.watchExpiresAt) {
          await this.policy.run(
            target,
            { operation: 'users.stop', units: GMAIL_QUOTA_UNITS.stop, idempotent: true },
            (t) => this.gmail.stop(t),
          );
        }
      } else {
        for (const folder of await this.mailboxes.foldersOf(mailbox.id)) {
          const id = folder.subscriptionId;
          if (!id) continue;
          await this.policy.run(target, { operation: 'subscriptions.delete', idempotent: true }, (t) =>
            this.graph.deleteSubscription(t, id),
          );
        }
      }
    } catch (error) {
      // The grant is usually gone by now (CON-4 revokes it): the watch then lapses on its own within days, and
      // notifications for a stopped mailbox are ignored.
      this.logger.info(
        { mailboxId: mailbox.id, code: asProviderFailure(error)?.code },
        'could not stop provider notifications; they will lapse',
      );
    }
    await this.uow.run(async (tx) => {
      await this.mailboxes.lock(tx.manager, mailbox.id);
      // A connection that became active while we were stopping found the cursor still there and fixed no start
      // point: the next setup starts from when it became active, not from whenever it runs (loss path 4).
      const wantedSince = await this.mailboxes.activeSince(tx.manager, mailbox.id);
      await this.mailboxes.deleteFolders(tx.manager, mailbox.id);
      await this.health.apply(tx, mailbox.id, {
        stage: 'stopped',
        historyId: null,
        cursorSyncedAt: null,
        baselineAt: wantedSince,
        recovery: null,
        watchExpiresAt: null,
        watchRenewAt: null,
        pullRequestedAt: null,
        backoffUntil: null,
        failures: 0,
        lastErrorCode: null,
        lastErrorMessage: null,
        lastErrorAt: null,
      });
    });
  }

  private async setupGmail(mailbox: MailboxEntity): Promise<void> {
    const target = this.access.forMailbox(mailbox);
    const now = new Date();
    let historyId = mailbox.historyId;
    let watchExpiresAt: Date | null = null;
    let watchRenewAt: Date | null = null;
    const topicName = this.config.GMAIL_PUBSUB_TOPIC;
    if (topicName) {
      const watch = await this.policy.run(
        target,
        { operation: 'users.watch', units: GMAIL_QUOTA_UNITS.watch, idempotent: true },
        (t) => this.gmail.watch(t, { topicName, labelIds: GMAIL_WATCH_LABELS }),
      );
      historyId ??= watch.historyId;
      watchExpiresAt = watch.expiration;
      watchRenewAt = new Date(
        Math.min(
          now.getTime() + this.config.GMAIL_WATCH_RENEW_HOURS * HOUR_MS,
          watch.expiration.getTime() - HOUR_MS,
        ),
      );
    } else if (!historyId) {
      // No Pub/Sub topic configured: the mailbox is followed by the safety-net poll alone.
      historyId = (
        await this.policy.run(
          target,
          { operation: 'users.getProfile', units: GMAIL_QUOTA_UNITS.getProfile, idempotent: true },
          (t) => this.gmail.getProfile(t),
        )
      ).historyId;
    }
    const resumed = mailbox.historyId !== null;
    // First setup: the history id is from now, but the start point is the connect instant (baseline_at). What was
    // received in between is re-listed by date before history is followed (loss path 4).
    const startPoint = resumed ? undefined : startPointOf(mailbox, now);
    const catchUp: GmailRecovery | undefined =
      startPoint && startPoint < now && historyId
        ? {
            newHistoryId: historyId,
            windowStart: startPoint.toISOString(),
            notBefore: startPoint.toISOString(),
            startedAt: now.toISOString(),
            labelIndex: 0,
            pageToken: null,
            listed: 0,
          }
        : undefined;
    await this.uow.run((tx) =>
      this.health.apply(tx, mailbox.id, {
        historyId,
        watchExpiresAt,
        watchRenewAt,
        ...(mailbox.stage === 'starting' || mailbox.stage === 'stopped' ? { stage: 'watching' } : {}),
        ...(startPoint ? { cursorSyncedAt: startPoint, baselineAt: startPoint } : {}),
        ...(catchUp ? { recovery: catchUp, pullRequestedAt: now } : {}),
        ...(resumed && mailbox.stage === 'starting' ? { pullRequestedAt: now } : {}),
      }),
    );
  }

  private async setupGraph(mailbox: MailboxEntity): Promise<void> {
    const now = new Date();
    // The first delta round observes what was received at or after the start point (the connect instant), so mail
    // that arrived before this setup ran is not lost (loss path 4), and nothing from before connecting is (CON-6).
    const fresh = (await this.mailboxes.foldersOf(mailbox.id)).length === 0;
    const startPoint = startPointOf(mailbox, now);
    for (const folder of GRAPH_FOLDERS)
      await this.mailboxes.ensureFolder(this.dataSource, mailbox.id, folder, startPoint);
    const renewAt = await this.ensureSubscriptions(mailbox);
    await this.uow.run((tx) =>
      this.health.apply(tx, mailbox.id, {
        ...(fresh ? { baselineAt: startPoint, cursorSyncedAt: startPoint } : {}),
        stage: mailbox.stage === 'starting' || mailbox.stage === 'stopped' ? 'watching' : mailbox.stage,
        watchRenewAt: renewAt,
        pullRequestedAt: now,
      }),
    );
  }

  /** Creates, recreates or renews each folder's subscription as needed; returns when to look again. */
  private async ensureSubscriptions(mailbox: MailboxEntity): Promise<Date> {
    const target = this.access.forMailbox(mailbox);
    const lifetimeMs = this.config.GRAPH_SUBSCRIPTION_MINUTES * 60_000;
    let renewAt = Date.now() + lifetimeMs / 2;
    for (const folder of await this.mailboxes.foldersOf(mailbox.id)) {
      const expiresAt = await this.ensureSubscription(mailbox, folder, target, lifetimeMs);
      renewAt = Math.min(renewAt, expiresAt.getTime() - lifetimeMs / 2);
    }
    return new Date(renewAt);
  }

  private async ensureSubscription(
    mailbox: MailboxEntity,
    folder: GraphFolderEntity,
    target: ReturnType<MailboxAccess['forMailbox']>,
    lifetimeMs: number,
  ): Promise<Date> {
    const now = Date.now();
    const expiresAt = new Date(now + lifetimeMs);
    const id = folder.subscriptionId;
    const dueForRenewal =
      folder.subscriptionAction === 'renew' ||
      (folder.subscriptionExpiresAt !== null &&
        folder.subscriptionExpiresAt.getTime() - now < lifetimeMs / 2);
    if (id && folder.subscriptionAction !== 'recreate') {
      if (!dueForRenewal && folder.subscriptionExpiresAt) return folder.subscriptionExpiresAt;
      try {
        // A renewing PATCH also reauthorizes (reauthorizationRequired).
        const renewed = await this.policy.run(
          target,
          { operation: 'subscriptions.renew', idempotent: true },
          (t) => this.graph.renewSubscription(t, id, expiresAt),
        );
        await this.mailboxes.updateFolder(this.dataSource, mailbox.id, folder.folder, {
          subscriptionExpiresAt: renewed.expiresAt,
          subscriptionAction: null,
        });
        return renewed.expiresAt;
      } catch (error) {
        // Graph deletes a lapsed subscription: recreate it (and the pull catches up by delta).
        if (asProviderFailure(error)?.code !== 'not_found') throw error;
      }
    }
    const base = this.config.PUBLIC_URL.replace(/\/$/, '');
    // ≥128 random bits per subscription; only its digest is stored.
    const clientState = randomBytes(32).toString('base64url');
    const created = await this.policy.run(
      target,
      { operation: 'subscriptions.create', idempotent: true },
      (t) =>
        this.graph.createSubscription(t, {
          folder: folder.folder,
          notificationUrl: `${base}/v1/webhooks/microsoft`,
          lifecycleNotificationUrl: `${base}/v1/webhooks/microsoft/lifecycle`,
          clientState,
          expiresAt,
        }),
    );
    await this.uow.run(async (tx) => {
      await this.mailboxes.updateFolder(tx.manager, mailbox.id, folder.folder, {
        subscriptionId: created.id,
        clientStateDigest: clientStateDigest(clientState),
        subscriptionExpiresAt: created.expiresAt,
        subscriptionAction: null,
      });
      // Whatever arrived while there was no subscription is caught up by delta.
      if (id) await this.mailboxes.requestPull(tx.manager, mailbox.id);
    });
    return created.expiresAt;
  }
}
