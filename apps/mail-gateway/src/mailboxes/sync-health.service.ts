import { Inject, Injectable } from '@nestjs/common';
import { mailboxSyncGapV1, mailboxSyncHealthChangedV1 } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { GatewayMetrics } from '../common/gateway.metrics';
import { backoffWithJitter } from '../common/timing';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import type { MailboxEntity, MailboxStage } from './mailbox.entity';
import { MailboxesRepository, type MailboxPatch } from './mailboxes.repository';
import { asProviderFailure } from '../provider-access/provider-failure';
import { MessagesPendingError } from './messages-pending.error';
import { healthSignatureOf, quietSuccessAllowed } from './pull-economy.policy';

/** A mailbox paused by a dead grant while a connection still says active is retried this often. */
const AUTH_RETRY_MS = 15 * 60_000;

/** What a finished pull (or setup) reports. */
export interface SuccessInput {
  readonly pullRequestedSeen: Date | null;
  readonly pulled: boolean;
  readonly stage?: MailboxStage;
  /** Gmail: the cursor the pull reached, written with the success; pull requests asked for no more are served. */
  readonly cursor?: GmailCursor;
}

/** A Gmail history cursor and when it was confirmed (the start of the round that reached the end of the history). */
export interface GmailCursor {
  readonly historyId: string;
  readonly syncedAt: Date;
}

const HEALTH_STAGES = new Set(['watching', 'catching_up', 'throttled', 'paused_auth', 'error', 'stopped']);

/**
 * Sync health per mailbox (CON-2: "connected but silently not syncing" must be visible): stage, last sync, last
 * notification, last error. Every state change is recorded with a `mailbox.sync-health-changed` event when the
 * stage or error changes (and as a heartbeat while syncing), and exported as Prometheus gauges.
 */
@Injectable()
export class SyncHealthService {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly metrics: GatewayMetrics,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Applies a state change and, when it matters to the CRM, records the health event in the same transaction.
   * `served`: a pull finished, its pull request is cleared in the same statement if it served it.
   */
  async apply(
    tx: TransactionContext,
    mailboxId: string,
    patch: MailboxPatch,
    served?: { readonly seen: Date | null; readonly covered?: string },
  ): Promise<MailboxEntity | null> {
    // The row as written comes back with the UPDATE (issue 16: no SELECT of it after).
    const mailbox = served
      ? await this.mailboxes.updateServed(tx.manager, mailboxId, patch, served.seen, served.covered)
      : await this.mailboxes.updateReturning(tx.manager, mailboxId, patch);
    if (mailbox) await this.maybeEmit(tx, mailbox);
    return mailbox;
  }

  /** A pull (or setup) finished: the mailbox is syncing, errors are cleared. */
  async recordSuccess(mailbox: MailboxEntity, input: SuccessInput): Promise<void> {
    await this.uow.run((tx) => this.recordSuccessIn(tx, mailbox.id, input));
  }

  /** {@link recordSuccess} inside a transaction already open (issue 16: a pull's last page). */
  async recordSuccessIn(tx: TransactionContext, mailboxId: string, input: SuccessInput): Promise<void> {
    const now = new Date();
    const cursor = input.cursor;
    await this.apply(
      tx,
      mailboxId,
      {
        stage: input.stage ?? 'watching',
        failures: 0,
        backoffUntil: null,
        lastErrorCode: null,
        lastErrorMessage: null,
        lastErrorAt: null,
        ...(input.pulled ? { lastPullAt: now, lastSyncedAt: now } : {}),
        ...(cursor ? { historyId: cursor.historyId, cursorSyncedAt: cursor.syncedAt } : {}),
      },
      { seen: input.pullRequestedSeen, covered: cursor?.historyId },
    );
  }

  /**
   * Issue 16: the success of a pull round that changed nothing. One statement when the full record would only move
   * the pull times (the mailbox healthy, no health event due); the full record otherwise.
   */
  async recordQuietSuccess(mailbox: MailboxEntity, input: SuccessInput): Promise<void> {
    const now = new Date();
    if (
      quietSuccessAllowed(mailbox, now.getTime(), this.config.HEALTH_HEARTBEAT_SECONDS) &&
      (await this.mailboxes.recordQuietPull(
        mailbox.id,
        now,
        input.pullRequestedSeen,
        input.cursor?.syncedAt ?? null,
        input.cursor?.historyId ?? null,
      ))
    )
      return;
    await this.recordSuccess(mailbox, input);
  }

  /**
   * A failure, reduced to what it means for the mailbox: a dead grant pauses it keeping its cursor (CON-5), a
   * Retry-After throttles it until then, anything else backs off exponentially. Nothing here loses the cursor, and
   * no back-off exceeds MAILBOX_RETRY_MAX_SECONDS: however long a storm lasts, the mailbox is retried for ever and
   * syncs again within that ceiling of the provider's recovery (loss path 3: it once grew to 15 minutes).
   */
  async recordFailure(mailbox: MailboxEntity, error: unknown): Promise<void> {
    const failure = asProviderFailure(error);
    const now = Date.now();
    const failures = mailbox.failures + 1;
    const ceilingMs = this.config.MAILBOX_RETRY_MAX_SECONDS * 1000;
    let patch: MailboxPatch;
    if (failure?.code === 'auth_revoked') {
      // Re-consent normally arrives as an event; the occasional retry covers one that raced this failure.
      patch = { stage: 'paused_auth', backoffUntil: new Date(now + AUTH_RETRY_MS) };
    } else if (failure?.code === 'rate_limited') {
      // A longer Retry-After is not waited out blindly either: an early retry costs one more 429 at most.
      const wait = failure.retryAfterMs ?? backoffWithJitter(failures, 1_000, ceilingMs);
      patch = { stage: 'throttled', backoffUntil: new Date(now + Math.min(wait, ceilingMs)) };
    } else if (error instanceof MessagesPendingError) {
      // Single messages failed: retried soon, so the mailbox's other mail waits seconds, not minutes (SYN-10).
      patch = {
        stage: 'error',
        backoffUntil: new Date(now + backoffWithJitter(failures, 1_000, Math.min(ceilingMs, 10_000))),
      };
    } else {
      patch = { stage: 'error', backoffUntil: new Date(now + backoffWithJitter(failures, 1_000, ceilingMs)) };
    }
    const code = failure?.code ?? (error instanceof MessagesPendingError ? error.code : 'internal_error');
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    if (error instanceof MessagesPendingError) this.logger.warn({ mailboxId: mailbox.id, code }, message);
    else if (!failure) this.logger.error({ err: error, mailboxId: mailbox.id }, 'mailbox work failed');
    else this.logger.warn({ mailboxId: mailbox.id, code, message }, 'mailbox provider failure');
    await this.uow.run((tx) =>
      this.apply(tx, mailbox.id, {
        ...patch,
        failures,
        lastErrorCode: code,
        lastErrorMessage: message,
        lastErrorAt: new Date(now),
      }),
    );
  }

  /** CON-5 / expired cursors: a time range that may not have synced, shown to the CRM. Never a silent jump. */
  async emitGap(
    tx: TransactionContext,
    mailbox: MailboxEntity,
    from: Date,
    to: Date,
    reason: string,
  ): Promise<void> {
    if (to.getTime() <= from.getTime()) return;
    const connections = await this.connectionsPayload(tx, mailbox.id);
    tx.emit(mailboxSyncGapV1, {
      mailboxId: mailbox.id,
      mailboxKey: mailbox.mailboxKey,
      connections,
      from: from.toISOString(),
      to: to.toISOString(),
      reason: reason.slice(0, 200),
    });
    this.metrics.syncGaps.inc({ provider: mailbox.provider });
    this.logger.warn({ mailboxId: mailbox.id, from, to, reason }, 'sync gap reported');
  }

  /** The mailbox's connections as events carry them (each one's location sees what the event reports). */
  async connectionsPayload(tx: TransactionContext, mailboxId: string) {
    return (await this.mailboxes.connectionsOf(mailboxId, tx.manager))
      .filter((c) => c.status !== 'replaced')
      .slice(0, 1000)
      .map((c) => ({ connectionId: c.connectionId, locationId: c.locationId, userId: c.userId }));
  }

  private async maybeEmit(tx: TransactionContext, mailbox: MailboxEntity): Promise<void> {
    const stage = mailbox.stage === 'starting' ? 'catching_up' : mailbox.stage;
    if (!HEALTH_STAGES.has(stage)) return;
    // CON-7: a change in the count of failing renewals is news too (identity-connections warns from 3).
    const signature = healthSignatureOf(mailbox, stage);
    const heartbeatDue =
      !mailbox.healthPublishedAt ||
      Date.now() - mailbox.healthPublishedAt.getTime() > this.config.HEALTH_HEARTBEAT_SECONDS * 1000;
    const synced =
      mailbox.lastSyncedAt !== null &&
      (!mailbox.healthPublishedAt || mailbox.lastSyncedAt > mailbox.healthPublishedAt);
    if (signature === mailbox.healthSignature && !(heartbeatDue && synced)) return;
    tx.emit(mailboxSyncHealthChangedV1, {
      mailboxId: mailbox.id,
      mailboxKey: mailbox.mailboxKey,
      connections: await this.connectionsPayload(tx, mailbox.id),
      stage: stage as 'watching',
      lastSyncedAt: mailbox.lastSyncedAt?.toISOString() ?? null,
      lastNotificationAt: mailbox.lastNotificationAt?.toISOString() ?? null,
      lastError:
        mailbox.lastErrorCode && mailbox.lastErrorAt
          ? {
              code: mailbox.lastErrorCode.slice(0, 64),
              message: (mailbox.lastErrorMessage ?? '').slice(0, 1000),
              at: mailbox.lastErrorAt.toISOString(),
            }
          : null,
      watch: {
        expiresAt: (await this.watchExpiry(tx, mailbox))?.toISOString() ?? null,
        renewalFailures: mailbox.renewalFailures,
      },
    });
    await this.mailboxes.update(tx.manager, mailbox.id, {
      healthSignature: signature,
      healthPublishedAt: new Date(),
    });
  }

  /** When the current Gmail watch, or the first of the Graph subscriptions, expires (null: none known). */
  private async watchExpiry(tx: TransactionContext, mailbox: MailboxEntity): Promise<Date | null> {
    if (mailbox.provider === 'google') return mailbox.watchExpiresAt;
    const ends = (await this.mailboxes.foldersOf(mailbox.id, tx.manager))
      .map((f) => f.subscriptionExpiresAt?.getTime())
      .filter((t): t is number => typeof t === 'number');
    return ends.length > 0 ? new Date(Math.min(...ends)) : null;
  }

  /** Prometheus gauges per mailbox, refreshed by the scheduler. */
  async refreshGauges(): Promise<void> {
    const now = Date.now();
    const rows = await this.mailboxes.all();
    this.metrics.mailboxStage.reset();
    this.metrics.cursorAgeSeconds.reset();
    this.metrics.lastNotificationAgeSeconds.reset();
    this.metrics.lagSeconds.reset();
    this.metrics.mailboxLastErrorInfo.reset();
    for (const m of rows) {
      const labels = { mailbox_id: m.id, provider: m.provider };
      this.metrics.mailboxStage.set({ ...labels, stage: m.stage }, 1);
      if (m.stage === 'stopped') continue;
      const cursorAt = m.lastSyncedAt ?? m.cursorSyncedAt;
      if (cursorAt) this.metrics.cursorAgeSeconds.set(labels, (now - cursorAt.getTime()) / 1000);
      if (m.lastNotificationAt)
        this.metrics.lastNotificationAgeSeconds.set(labels, (now - m.lastNotificationAt.getTime()) / 1000);
      this.metrics.lagSeconds.set(labels, m.pullRequestedAt ? (now - m.pullRequestedAt.getTime()) / 1000 : 0);
      if (m.lastErrorCode) this.metrics.mailboxLastErrorInfo.set({ ...labels, code: m.lastErrorCode }, 1);
    }
  }
}
