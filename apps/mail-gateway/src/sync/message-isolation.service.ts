import { Inject, Injectable } from '@nestjs/common';
import { mailboxMessageQuarantinedV1 } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { GatewayMetrics } from '../common/gateway.metrics';
import { mapLimit } from '../common/timing';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import { MessageLedgerRepository } from '../ledger/message-ledger.repository';
import { MessageExcludedError } from '../exclusions/message-excluded.error';
import { MessageCallFailedError, asProviderFailure } from '../provider-access/provider-failure';
import { MessageFailuresRepository } from './message-failures.repository';
import { MessagesPendingError } from '../mailboxes/messages-pending.error';
import type { NormalizedMessage } from './message-normalizer.service';
import { ObservedMessagePublisher } from './observed-message.publisher';
import { SyncHealthService } from '../mailboxes/sync-health.service';

export const PULL_STAGE = 'gateway.pull';

/** Provider answers about the whole mailbox (or provider), never about one message: they fail the pull, not it. */
const MAILBOX_WIDE = new Set(['auth_revoked', 'rate_limited', 'temporary', 'cursor_expired']);

export interface PullItem {
  readonly id: string;
  /** Whatever the pull needs to fetch this message again later (kept with a failure, for the retry route). */
  readonly context?: Record<string, unknown>;
}

/** A page's messages as fetched: the good ones, how many failed with attempts left, and what was known of each. */
export interface FetchedPage {
  readonly messages: readonly NormalizedMessage[];
  readonly pending: number;
  readonly contexts: ReadonlyMap<string, PullItem>;
  /** Ids with an open failure record when the page was fetched: only these have a failure to resolve. */
  readonly failing?: ReadonlySet<string>;
}

/** One message's own failure is never the mailbox's: anything but a mailbox-wide provider answer. */
export function isMessageSpecific(error: unknown): boolean {
  const failure = asProviderFailure(error);
  return !failure || !MAILBOX_WIDE.has(failure.code);
}

export function errorClassOf(error: unknown): string {
  if (error instanceof MessageCallFailedError) return `provider:${error.failure.code}`;
  const failure = asProviderFailure(error);
  if (failure) return `provider:${failure.code}`;
  if (error instanceof Error) return error.name || error.constructor.name || 'Error';
  return typeof error;
}

/**
 * Per-message failure isolation in pulls (SYN-10, loss path 1): a message that cannot be fetched, parsed or recorded
 * costs the mailbox at most a few short retries. Its attempts are counted durably (`message_failures`), after
 * MESSAGE_MAX_ATTEMPTS it is quarantined and announced (`mailbox.message-quarantined`), and the cursor moves on.
 * Which input made it fail does not matter: any error of that message's own work is caught the same way.
 */
@Injectable()
export class MessageIsolation {
  constructor(
    private readonly failures: MessageFailuresRepository,
    private readonly publisher: ObservedMessagePublisher,
    private readonly health: SyncHealthService,
    private readonly metrics: GatewayMetrics,
    private readonly ledger: MessageLedgerRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Fetches (and normalises) the items not observed nor quarantined yet, each on its own: a message-specific error
   * is counted against that message; a mailbox-wide one fails the pull as before.
   */
  async fetchEach(
    mailbox: MailboxEntity,
    items: readonly PullItem[],
    concurrency: number,
    fetch: (item: PullItem) => Promise<NormalizedMessage | undefined>,
    /**
     * Fetches what is to be fetched in bulk first (provider batch requests); `fetch` then takes each item's answer.
     * A mailbox-wide failure here fails the pull as a single call's would; per-message answers are `fetch`'s to throw.
     */
    prefetch?: (fresh: readonly PullItem[]) => Promise<void>,
  ): Promise<FetchedPage> {
    const byId = new Map(items.map((i) => [i.id, i]));
    const { unseen, open } = await this.publisher.pageStatus(mailbox.id, [...byId.keys()]);
    const fresh = unseen.filter((id) => !open.get(id)?.quarantined).map((id) => byId.get(id) ?? { id });
    if (prefetch && fresh.length > 0) await prefetch(fresh);
    let pending = 0;
    const fetched = await mapLimit(fresh, concurrency, async (item) => {
      try {
        return await fetch(item);
      } catch (error) {
        // A message already judged to fail on its own (its batch neighbours were served) keeps being counted when it
        // is fetched alone later, so it reaches quarantine instead of holding the mailbox back for ever.
        const counted = open.has(item.id) && asProviderFailure(error)?.code === 'temporary';
        if (!isMessageSpecific(error) && !counted) throw error;
        if (await this.fail(mailbox, item, error)) pending++;
        return undefined;
      }
    });
    return {
      messages: fetched.filter((m): m is NormalizedMessage => m !== undefined),
      pending,
      contexts: byId,
      failing: new Set(open.keys()),
    };
  }

  /**
   * Records the page's messages and then moves the cursor (`advance`), in one transaction (issue 16: one per page,
   * also when some message failed to fetch: its neighbours are recorded together all the same). Only when that
   * transaction fails is each message recorded on its own, so only the failing one is held back. The cursor moves
   * only when no message of the page has attempts left ({@link MessagesPendingError} otherwise: the mailbox retries
   * shortly).
   */
  async commitPage(
    mailbox: MailboxEntity,
    page: FetchedPage,
    advance: (tx: TransactionContext) => Promise<void>,
  ): Promise<void> {
    let pending = page.pending;
    if (await this.commitTogether(mailbox, page, pending === 0 ? advance : undefined)) {
      if (pending > 0) throw new MessagesPendingError(pending);
      return;
    }
    for (const m of page.messages) {
      try {
        await this.uow.run((tx) => this.record(tx, mailbox, [m], page.failing));
      } catch (error) {
        if (!isMessageSpecific(error)) throw error;
        const id = m.message.providerMessageId;
        if (await this.fail(mailbox, page.contexts.get(id) ?? { id }, error)) pending++;
      }
    }
    if (pending > 0) throw new MessagesPendingError(pending);
    await this.uow.run(advance);
  }

  /** The page's messages (and the cursor move, when given) in one transaction; false when a message refused it. */
  private async commitTogether(
    mailbox: MailboxEntity,
    page: FetchedPage,
    advance?: (tx: TransactionContext) => Promise<void>,
  ): Promise<boolean> {
    if (!advance && page.messages.length === 0) return true;
    try {
      await this.uow.run(async (tx) => {
        await this.record(tx, mailbox, page.messages, page.failing);
        if (advance) await advance(tx);
      });
      return true;
    } catch (error) {
      if (!isMessageSpecific(error) || page.messages.length === 0) throw error;
      this.logger.warn(
        { mailboxId: mailbox.id, err: error },
        'page failed to commit: recording its messages one by one',
      );
      return false;
    }
  }

  /** Observes the messages; any failure record they had is resolved in the same transaction. */
  async record(
    tx: TransactionContext,
    mailbox: MailboxEntity,
    messages: readonly NormalizedMessage[],
    /** When known (a pull page), only these can have a failure to resolve: no statement when none is among them. */
    failing?: ReadonlySet<string>,
  ) {
    const emitted = await this.publisher.publish(tx, mailbox, messages);
    const ids = messages.map((m) => m.message.providerMessageId);
    if (!failing || ids.some((id) => failing.has(id)))
      await this.failures.resolve(tx.manager, mailbox.id, ids);
    return emitted;
  }

  /** Counts a failed attempt; quarantines at the limit. True while the message still has attempts left. */
  async fail(mailbox: MailboxEntity, item: PullItem, error: unknown): Promise<boolean> {
    if (error instanceof MessageExcludedError) return this.excluded(mailbox, item, error);
    const errorClass = errorClassOf(error);
    const message = error instanceof Error ? error.message : String(error);
    const quarantined = await this.uow.run(async (tx) => {
      const failure = await this.failures.recordAttempt(tx.manager, {
        mailboxId: mailbox.id,
        providerMessageId: item.id,
        stage: PULL_STAGE,
        errorClass,
        errorMessage: message,
        context: item.context,
      });
      if (failure.attempts < this.config.MESSAGE_MAX_ATTEMPTS) return false;
      const at = await this.failures.markQuarantined(tx.manager, failure.id);
      // Its terminal outcome in the ledger (SYN-10) until a retry records it after all.
      await this.ledger.recordOwn(tx.manager, mailbox.id, item.id, 'quarantined', 'SYN-10', errorClass);
      if (!failure.quarantinedAt) {
        tx.emit(mailboxMessageQuarantinedV1, {
          mailboxId: mailbox.id,
          mailboxKey: mailbox.mailboxKey,
          connections: await this.health.connectionsPayload(tx, mailbox.id),
          quarantineId: failure.id,
          providerMessageId: item.id.slice(0, 1024),
          stage: PULL_STAGE,
          errorClass: errorClass.slice(0, 200),
          error: message.slice(0, 1000),
          attempts: failure.attempts,
          quarantinedAt: at.toISOString(),
        });
      }
      return true;
    });
    this.metrics.messageFailures.inc({
      provider: mailbox.provider,
      outcome: quarantined ? 'quarantined' : 'retry_pending',
    });
    this.logger.warn(
      { mailboxId: mailbox.id, providerMessageId: item.id, errorClass, err: error, quarantined },
      quarantined ? 'message quarantined' : 'message failed, will be retried',
    );
    return !quarantined;
  }

  /**
   * SYN-8: an excluded message is not a failure. Its only trace is its outcome in the ledger (`not_synced`,
   * `excluded`: ids and codes), so the completeness audit counts it as accounted; nothing else is stored or emitted.
   */
  private async excluded(
    mailbox: MailboxEntity,
    item: PullItem,
    error: MessageExcludedError,
  ): Promise<false> {
    await this.uow.run((tx) =>
      this.ledger.recordOwn(tx.manager, mailbox.id, item.id, 'not_synced', 'SYN-8', 'excluded'),
    );
    this.metrics.messagesExcluded.inc({ provider: mailbox.provider, reason: error.verdict.reason });
    this.logger.info(
      { mailboxId: mailbox.id, providerMessageId: item.id, rule: 'SYN-8', scope: error.verdict.scope },
      'message excluded',
    );
    return false;
  }
}
