import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@mailbridge/platform-observability';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import {
  GMAIL_BATCH_MAX_CALLS,
  GMAIL_QUOTA_UNITS,
  GmailApi,
  type GmailMessageRef,
  type GmailRawMessage,
} from '@mailbridge/providers-google';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MailboxAccess } from '../provider-access/mailbox-access';
import {
  ProviderCallPolicy,
  type BatchItemResult,
  type CallTarget,
} from '../provider-access/provider-call.policy';
import { asProviderFailure } from '../provider-access/provider-failure';
import {
  GMAIL_STATE_HISTORY_TYPES,
  gmailStateObservations,
  MailboxStateService,
} from '../state/mailbox-state.service';
import type { ExclusionCheck } from '../exclusions/sync-exclusion.screen';
import { MessageNormalizer, type NormalizedMessage } from './message-normalizer.service';
import { MessageIsolation, type FetchedPage } from './message-isolation.service';
import { SyncHealthService } from '../mailboxes/sync-health.service';
import type { PullFinish } from '../mailboxes/pull-economy.policy';

const OBSERVED_LABELS = ['INBOX', 'SENT'];
const SKIPPED_LABELS = ['DRAFT', 'SPAM', 'TRASH', 'CHAT'];
const FETCH_CONCURRENCY = 4;
const GMAIL_PULL_BATCH = Math.min(50, GMAIL_BATCH_MAX_CALLS);

/** Progress of a re-list after an expired history cursor, stored after every page so it resumes after a crash. */
export interface GmailRecovery {
  /** The mailbox's history id when the re-list began: the cursor once it is done. */
  readonly newHistoryId: string;
  /** Re-list messages received from here on (by date). */
  readonly windowStart: string;
  /** Observe only messages received at or after this (exact, by internalDate): the mailbox's start point. */
  readonly notBefore?: string;
  readonly startedAt: string;
  readonly labelIndex: number;
  readonly pageToken: string | null;
  /** Messages listed so far under the current label. */
  readonly listed: number;
}

const isObserved = (m: GmailMessageRef) =>
  m.labelIds.some((l) => OBSERVED_LABELS.includes(l)) && !m.labelIds.some((l) => SKIPPED_LABELS.includes(l));

/**
 * Gmail pull: `history.list` from the stored cursor, every new Inbox/Sent message fetched raw (HTTP batches of 50
 * `messages.get`), normalised and published, then the cursor moved, in one transaction per page (a crash in between
 * re-pulls the page, the observed ids make it harmless). An expired cursor (404) starts a bounded, resumable re-list of the gap by date; what
 * cannot be covered is reported as a sync gap, never skipped silently.
 */
@Injectable()
export class GmailPullService {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly access: MailboxAccess,
    private readonly policy: ProviderCallPolicy,
    private readonly gmail: GmailApi,
    private readonly normalizer: MessageNormalizer,
    private readonly isolation: MessageIsolation,
    private readonly health: SyncHealthService,
    private readonly states: MailboxStateService,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** `finish`, when given, records the pull's success with its last page (issue 16). */
  async pull(mailbox: MailboxEntity, keepAlive: () => Promise<void>, finish?: PullFinish): Promise<void> {
    const target = this.access.forMailbox(mailbox);
    let current: MailboxEntity | null = mailbox;
    // The re-list answers the row as its last write left it (issue 16: not read again).
    if (mailbox.recovery) current = await this.relist(mailbox, target, keepAlive);
    // No cursor (nothing to list from): the caller records the success as before.
    if (!current?.historyId) return;
    try {
      await this.pullHistory(current, target, keepAlive, finish);
    } catch (error) {
      if (asProviderFailure(error)?.code !== 'cursor_expired') throw error;
      const again = await this.beginRelist(current, target);
      const resumed = again?.recovery ? await this.relist(again, target, keepAlive) : again;
      if (resumed?.historyId) await this.pullHistory(resumed, target, keepAlive, finish);
    }
  }

  private async pullHistory(
    mailbox: MailboxEntity,
    target: CallTarget,
    keepAlive: () => Promise<void>,
    finish?: PullFinish,
  ): Promise<void> {
    const startedAt = new Date();
    const startHistoryId = mailbox.historyId ?? '';
    let pageToken: string | undefined;
    for (;;) {
      const page = await this.policy.run(
        target,
        { operation: 'users.history.list', units: GMAIL_QUOTA_UNITS.historyList, idempotent: true },
        (t) =>
          this.gmail.listHistory(t, {
            startHistoryId,
            pageToken,
            maxResults: 100,
            historyTypes: GMAIL_STATE_HISTORY_TYPES,
          }),
      );
      // SYN-7: read / trashed / deleted changes of synced messages, recorded with the page.
      const states = gmailStateObservations(page.records, new Date());
      const refs = page.records.flatMap((r) => r.added).filter(isObserved);
      const fetched = await this.fetchNew(
        mailbox,
        target,
        refs.map((r) => r.id),
      );
      // Nothing happened since the cursor: no page to commit, the cursor stays as it is (issue 16).
      const unchanged = !pageToken && !page.nextPageToken && page.records.length === 0;
      if (finish && unchanged && page.historyId === startHistoryId)
        return finish.alone(mailbox, { historyId: startHistoryId, syncedAt: startedAt });
      const last = page.records[page.records.length - 1]?.id;
      // Inside a paged answer the cursor moves to the last record handled; at the end, to the mailbox's history id.
      const nextCursor = page.nextPageToken ? (last ?? startHistoryId) : page.historyId;
      await this.isolation.commitPage(mailbox, fetched, async (tx) => {
        await this.states.record(tx, mailbox, states);
        // The end of the history: the cursor is written with the pull's success, in one statement.
        if (!page.nextPageToken && finish)
          return finish.inTransaction(tx, { historyId: nextCursor, syncedAt: startedAt });
        await this.mailboxes.update(tx.manager, mailbox.id, {
          historyId: nextCursor,
          ...(page.nextPageToken ? {} : { cursorSyncedAt: startedAt }),
        });
      });
      await keepAlive();
      if (!page.nextPageToken) return;
      pageToken = page.nextPageToken;
    }
  }

  /**
   * Fetches and normalises the messages not observed (nor quarantined) yet, each isolated: one message's own failure
   * is counted against it, not the pull.
   */
  private fetchNew(
    mailbox: MailboxEntity,
    target: CallTarget,
    ids: readonly string[],
    notBefore?: Date,
  ): Promise<FetchedPage> {
    const answers = new Map<string, BatchItemResult<GmailRawMessage>>();
    // SYN-8 lists read once for the page (issue 16), not once per message.
    const screen = this.normalizer.pageScreen(mailbox.provider, mailbox.emailAddress);
    return this.isolation.fetchEach(
      mailbox,
      ids.map((id) => ({ id })),
      FETCH_CONCURRENCY,
      async (item) => {
        const answer = answers.get(item.id);
        if (!answer) return this.fetchOne(mailbox, target, item.id, notBefore, screen);
        if (!answer.ok) {
          if (asProviderFailure(answer.error)?.code === 'not_found') return undefined;
          throw answer.error;
        }
        return this.normalizeRaw(mailbox, answer.value, notBefore, screen);
      },
      // messages.get in HTTP batches (GMAIL_PULL_BATCH calls each), within the mailbox's quota budget.
      async (fresh) => {
        for (let i = 0; i < fresh.length; i += this.batchSize) {
          const chunk = fresh.slice(i, i + this.batchSize).map((f) => f.id);
          const results = await this.policy.runBatch(
            target,
            {
              operation: 'users.messages.get',
              unitsPerItem: GMAIL_QUOTA_UNITS.messagesGet,
              idempotent: true,
            },
            chunk,
            (t, batch) => this.gmail.getRawMessages(t, batch),
          );
          for (const [id, r] of results) answers.set(id, r);
        }
      },
    );
  }

  /**
   * Calls per batch: 50 (Google allows 100 but warns that larger batches are likely to be rate limited; it also
   * bounds the raw messages one answer holds in memory), and small enough that one batch never needs a quarter of
   * the mailbox's quota budget.
   */
  private get batchSize(): number {
    const affordable = Math.floor(
      this.config.GMAIL_QUOTA_UNITS_PER_MINUTE / GMAIL_QUOTA_UNITS.messagesGet / 4,
    );
    return Math.max(1, Math.min(GMAIL_PULL_BATCH, affordable));
  }

  /** Normalises a fetched message; undefined when not in Inbox/Sent or received before `notBefore`. */
  private async normalizeRaw(
    mailbox: MailboxEntity,
    raw: GmailRawMessage,
    notBefore?: Date,
    screen?: ExclusionCheck,
  ): Promise<NormalizedMessage | undefined> {
    if (!isObserved(raw)) return undefined;
    if (notBefore && raw.internalDate.getTime() < notBefore.getTime()) return undefined;
    return this.normalizer.normalize(
      {
        provider: 'google',
        providerMessageId: raw.id,
        providerThreadId: raw.threadId,
        receivedAt: raw.internalDate,
        labels: raw.labelIds,
        inSent: raw.labelIds.includes('SENT'),
        raw: raw.raw,
      },
      mailbox.emailAddress,
      screen,
    );
  }

  /**
   * One message, raw, normalised; undefined when deleted meanwhile (404), not in Inbox/Sent, or received before
   * `notBefore` (the mailbox's start point, exact by internalDate).
   */
  async fetchOne(
    mailbox: MailboxEntity,
    target: CallTarget,
    id: string,
    notBefore?: Date,
    screen?: ExclusionCheck,
  ): Promise<NormalizedMessage | undefined> {
    try {
      const raw = await this.policy.run(
        target,
        { operation: 'users.messages.get', units: GMAIL_QUOTA_UNITS.messagesGet, idempotent: true },
        (t) => this.gmail.getRawMessage(t, id),
      );
      return await this.normalizeRaw(mailbox, raw, notBefore, screen);
    } catch (error) {
      if (asProviderFailure(error)?.code === 'not_found') return undefined;
      throw error;
    }
  }

  /**
   * The history cursor expired: note the current history id and the window to re-list, report what is beyond it.
   * Answers the row as written.
   */
  private async beginRelist(mailbox: MailboxEntity, target: CallTarget): Promise<MailboxEntity | null> {
    const profile = await this.policy.run(
      target,
      { operation: 'users.getProfile', units: GMAIL_QUOTA_UNITS.getProfile, idempotent: true },
      (t) => this.gmail.getProfile(t),
    );
    const now = new Date();
    const lastSynced = mailbox.cursorSyncedAt ?? mailbox.lastSyncedAt ?? mailbox.createdAt;
    const gapStart = new Date(lastSynced.getTime() - this.config.GAP_SAFETY_MARGIN_MINUTES * 60_000);
    const oldestAllowed = new Date(now.getTime() - this.config.GAP_RELIST_MAX_DAYS * 86_400_000);
    // Never before the baseline: mail from before the mailbox was connected is not imported (CON-6).
    const floor = new Date(Math.max(oldestAllowed.getTime(), mailbox.baselineAt?.getTime() ?? 0));
    const windowStart = gapStart < floor ? floor : gapStart;
    const recovery: GmailRecovery = {
      newHistoryId: profile.historyId,
      windowStart: windowStart.toISOString(),
      ...(mailbox.baselineAt ? { notBefore: mailbox.baselineAt.toISOString() } : {}),
      startedAt: now.toISOString(),
      labelIndex: 0,
      pageToken: null,
      listed: 0,
    };
    this.logger.warn({ mailboxId: mailbox.id, windowStart }, 'Gmail history expired: re-listing the gap');
    return this.uow.run(async (tx) => {
      // What lies beyond the re-list window (and after the baseline) is reported, not skipped silently.
      const gapFrom = new Date(Math.max(gapStart.getTime(), mailbox.baselineAt?.getTime() ?? 0));
      await this.health.emitGap(tx, mailbox, gapFrom, oldestAllowed, 'history_expired');
      return this.health.apply(tx, mailbox.id, { recovery, stage: 'catching_up' });
    });
  }

  /**
   * Re-lists Inbox then Sent by date, page by page, resuming where a previous attempt stopped. The last page also
   * ends the re-list (issue 16: one transaction, not two). Answers the row as the end left it.
   */
  private async relist(
    mailbox: MailboxEntity,
    target: CallTarget,
    keepAlive: () => Promise<void>,
  ): Promise<MailboxEntity | null> {
    let state = mailbox.recovery as GmailRecovery;
    let ended: { row: MailboxEntity | null } | undefined;
    const end = (tx: TransactionContext, s: GmailRecovery) =>
      this.health.apply(tx, mailbox.id, {
        historyId: s.newHistoryId,
        recovery: null,
        cursorSyncedAt: new Date(s.startedAt),
      });
    const windowStart = new Date(state.windowStart);
    const notBefore = state.notBefore ? new Date(state.notBefore) : undefined;
    // `after:` takes whole seconds: ask from a second before, then filter exactly by internalDate.
    const after = Math.floor(windowStart.getTime() / 1000) - 1;
    while (state.labelIndex < OBSERVED_LABELS.length) {
      const label = OBSERVED_LABELS[state.labelIndex];
      const page = await this.policy.run(
        target,
        { operation: 'users.messages.list', units: GMAIL_QUOTA_UNITS.messagesList, idempotent: true },
        (t) =>
          this.gmail.listMessages(t, {
            q: `after:${after}`,
            labelIds: [label],
            pageToken: state.pageToken ?? undefined,
            maxResults: 100,
          }),
      );
      const fetched = await this.fetchNew(
        mailbox,
        target,
        page.messages.map((m) => m.id),
        notBefore,
      );
      const messages = fetched.messages;
      const listed = state.listed + page.messages.length;
      const limitReached = listed >= this.config.GAP_RELIST_MAX_MESSAGES && !!page.nextPageToken;
      const labelDone = !page.nextPageToken || limitReached;
      const next: GmailRecovery = labelDone
        ? { ...state, labelIndex: state.labelIndex + 1, pageToken: null, listed: 0 }
        : { ...state, pageToken: page.nextPageToken ?? null, listed };
      // Newest first: when the limit stops the listing, the older rest of the window is the uncovered part.
      const oldestCovered = messages.reduce<Date | undefined>((oldest, m) => {
        const at = new Date(m.message.receivedAt);
        return !oldest || at < oldest ? at : oldest;
      }, undefined);
      const final = next.labelIndex >= OBSERVED_LABELS.length;
      // Issue 16: a page that listed nothing records no progress (a crash repeats one empty listing, nothing else);
      // a connect's first label usually is one. The last page always ends the re-list.
      if (page.messages.length === 0 && !limitReached && !final) {
        await keepAlive();
        state = next;
        continue;
      }
      await this.isolation.commitPage(mailbox, fetched, async (tx) => {
        if (limitReached) {
          await this.health.emitGap(
            tx,
            mailbox,
            windowStart,
            oldestCovered ?? new Date(),
            'relist_limit_reached',
          );
        }
        if (!final) await this.mailboxes.update(tx.manager, mailbox.id, { recovery: next });
        else ended = { row: await end(tx, next) };
      });
      await keepAlive();
      state = next;
    }
    // Resumed with every label already listed (a re-list left half-ended): end it alone.
    const last = state;
    return ended ? ended.row : this.uow.run((tx) => end(tx, last));
  }
}
