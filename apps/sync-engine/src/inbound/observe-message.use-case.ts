import { Inject, Injectable } from '@nestjs/common';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import { LOGGER, METRICS } from '@mailbridge/platform-runtime';
import { mergeConnections } from '../connections/identity-connections.client';
import { decideObservedMessage, isLive } from '../decisions/decide-observed-message';
import type {
  ConnectionView,
  ObservedDecision,
  ObservedMessage,
  SyncPolicy,
} from '../decisions/decision.types';
import { parkKeys } from '../decisions/thread-keys';
import { SYNC_ENGINE_CONFIG, type SyncEngineConfig } from '../sync-engine.config';
import { ThreadBindingRepository } from '../threads/thread-binding.repository';
import { announceDecision, countRepeat, emitDecided } from './decision-effects';
import { MessageDecisionRepository } from './message-decision.repository';
import { SyncContextRepository } from './sync-context.repository';

/** No connection event has told sync-engine about this mailbox yet: retried (the projection catches up), then quarantined. */
export class MailboxNotKnownError extends Error {
  readonly code = 'mailbox_not_known';
  constructor(mailboxKey: string) {
    super(`No connection is known for mailbox ${mailboxKey} yet`);
    this.name = 'MailboxNotKnownError';
  }
}

/**
 * The projection shows no live connection for the message's mailbox. mail-gateway only observes a mailbox some
 * connection watches, so the projection may just be behind the connection events (right after a connect or a
 * reconnect, loss path 4): the caller asks identity-connections, outside the transaction, and decides again.
 */
export class ConnectionsMayBeBehindError extends Error {
  readonly code = 'connections_may_be_behind';
  constructor(readonly mailboxKey: string) {
    super(`The connection projection shows no live connection for ${mailboxKey}`);
    this.name = 'ConnectionsMayBeBehindError';
  }
}

/** A key a decision added to a binding (or moved back): parked messages of that mailbox carrying it get a second look. */
interface AddedKey {
  readonly mailboxKey: string;
  readonly key: string;
}

const REPLAY_ROUNDS = 20;
const REPLAY_BATCH = 50;

/**
 * One observed message through the sync rules: load its context, decide (pure), apply the decision (bindings,
 * decision record, parked copy, outbox events) in the caller's transaction, then decide again the parked messages its
 * new thread keys can now bind.
 */
@Injectable()
export class ObserveMessageUseCase {
  /** Read by the batch path too (ObserveBatchUseCase): both decide with the same policy. */
  readonly policy: SyncPolicy;

  constructor(
    private readonly context: SyncContextRepository,
    private readonly decisions: MessageDecisionRepository,
    private readonly bindings: ThreadBindingRepository,
    @Inject(SYNC_ENGINE_CONFIG) private readonly config: SyncEngineConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
  ) {
    this.policy = {
      attachmentLimits: {
        ...(config.ATTACHMENT_LIMIT_GOOGLE_BYTES ? { google: config.ATTACHMENT_LIMIT_GOOGLE_BYTES } : {}),
        ...(config.ATTACHMENT_LIMIT_MICROSOFT_BYTES
          ? { microsoft: config.ATTACHMENT_LIMIT_MICROSOFT_BYTES }
          : {}),
      },
      stripLocations: new Set(config.ATTACHMENT_POLICY_STRIP_LOCATIONS),
      smartBccDomains: config.SMART_BCC_DOMAINS,
    };
  }

  /** Returns the decision, or null when this message was already decided for this mailbox (SYN-5). */
  async execute(
    tx: TransactionContext,
    eventId: string,
    observed: ObservedMessage,
    /**
     * identity-connections' current answer for the mailbox (null: it could not answer). Undefined on the first try:
     * a mailbox without a live connection in the projection then throws {@link ConnectionsMayBeBehindError}.
     */
    current?: readonly ConnectionView[] | null,
    /** The caller already holds the mailbox's lock in this transaction (ObserveBatchUseCase): no round trip for it. */
    mailboxLocked = false,
  ): Promise<ObservedDecision | null> {
    if (!mailboxLocked) await this.bindings.lockMailboxes(tx.manager, [observed.mailboxKey]);
    const alsoLocations = (current ?? [])
      .filter((c) => c.mailboxKey === observed.mailboxKey)
      .map((c) => c.locationId);
    let ctx = await this.withCurrent(await this.context.load(tx.manager, observed, alsoLocations), current);
    if (ctx.alreadyDecided) {
      const stored = await this.decisions.countRepeat(
        tx.manager,
        observed.mailboxKey,
        observed.message.providerMessageId,
      );
      // Told again: a repeat is how the completeness audit re-drives a message whose outcome the ledger lacks.
      if (stored) emitDecided(tx, observed, stored);
      countRepeat(tx, this.metrics, this.logger, observed);
      return null;
    }
    const ofMailbox = ctx.connections.filter((c) => c.mailboxKey === observed.mailboxKey);
    if (observed.source === 'mailbox' && current === undefined && !ofMailbox.some(isLive)) {
      throw new ConnectionsMayBeBehindError(observed.mailboxKey);
    }
    if (observed.source === 'mailbox' && ofMailbox.length === 0) {
      throw new MailboxNotKnownError(observed.mailboxKey);
    }
    if (observed.source === 'smart_bcc') {
      // The binding goes into the user's own mailbox: serialise with that mailbox too, then read again under the lock.
      const own = ctx.connections
        .map((c) => c.mailboxKey)
        .filter((k): k is string => !!k && k !== observed.mailboxKey);
      if (own.length > 0) {
        await this.bindings.lockMailboxes(tx.manager, own);
        ctx = await this.withCurrent(await this.context.load(tx.manager, observed, alsoLocations), current);
      }
    }
    const decision = decideObservedMessage({ observed, ...ctx, policy: this.policy });
    const added = await this.apply(tx, eventId, observed, decision);
    // Most mailboxes have nothing parked: no second look needed, no query spent on it.
    if (ctx.hasParked) await this.replayParked(tx, added);
    return decision;
  }

  /** The owner's answer wins over the projection, except that an ended connection never comes back (as in routing). */
  private async withCurrent<C extends { connections: ConnectionView[] }>(
    ctx: C,
    current: readonly ConnectionView[] | null | undefined,
  ): Promise<C> {
    if (!current) return ctx;
    const { connections, changed } = mergeConnections(ctx.connections, current);
    if (changed.length > 0) {
      this.logger.info(
        { changed },
        'identity-connections is ahead of the connection events: its answer decides',
      );
    }
    return { ...ctx, connections };
  }

  /**
   * Decides again the parked messages that keys just added to bindings may now bind (a reply observed before the
   * message that bound its thread). Bounded: a few rounds, a batch each.
   */
  async replayParked(tx: TransactionContext, added: readonly AddedKey[]): Promise<void> {
    let pending = added;
    for (let round = 0; round < REPLAY_ROUNDS && pending.length > 0; round++) {
      const parked = await this.decisions.takeParked(
        tx.manager,
        [...new Set(pending.map((k) => k.mailboxKey))],
        [...new Set(pending.map((k) => k.key))],
        REPLAY_BATCH,
        this.config.PARKED_MESSAGE_RETENTION_HOURS,
      );
      const next: AddedKey[] = [];
      for (const p of parked) {
        const ctx = await this.context.load(tx.manager, p.observed);
        const decision = decideObservedMessage({ observed: p.observed, ...ctx, policy: this.policy });
        this.logger.info(
          {
            mailboxKey: p.observed.mailboxKey,
            providerMessageId: p.observed.message.providerMessageId,
            rule: 'SYN-6',
          },
          'parked message decided again: its thread is now bound',
        );
        next.push(
          ...(await this.apply(
            tx,
            p.eventId,
            p.observed,
            { ...decision, trace: ['SYN-6: decided again after its thread was bound', ...decision.trace] },
            p.parkedAt,
          )),
        );
      }
      pending = next;
    }
  }

  private async apply(
    tx: TransactionContext,
    eventId: string,
    observed: ObservedMessage,
    decision: ObservedDecision,
    parkedAt: string | null = null,
  ): Promise<AddedKey[]> {
    const m = observed.message;
    const db = tx.manager;
    const changed = await this.bindings.save(db, decision.newBindings, decision.keyAdditions);
    await this.decisions.record(db, eventId, observed, decision);
    if (decision.park) {
      // A second look when its thread or a message it replies to becomes bound; an earlier private message of a thread
      // bound later (a vendor's mail the user then forwards to a contact) still stays private then (predates check).
      await this.decisions.park(db, eventId, observed, parkKeys(m), parkedAt);
    }
    if (decision.learnedSmartBcc) {
      const l = decision.learnedSmartBcc;
      await this.decisions.learnSmartBcc(db, l.address, l.locationId, l.userId);
    }
    announceDecision(tx, this.metrics, this.logger, observed, decision, parkedAt);
    // Only new or moved keys: a key already bound as it was changes no parked message's decision.
    return changed;
  }
}
