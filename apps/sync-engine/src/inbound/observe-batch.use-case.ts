import { Inject, Injectable } from '@nestjs/common';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { runWithContext, type Logger, type ServiceMetrics } from '@mailbridge/platform-observability';
import { LOGGER, METRICS } from '@mailbridge/platform-runtime';
import { decideObservedMessage, isLive } from '../decisions/decide-observed-message';
import type { KeyAddition, NewBinding, ObservedDecision, ObservedMessage } from '../decisions/decision.types';
import { parkKeys } from '../decisions/thread-keys';
import { SYNC_ENGINE_CONFIG, type SyncEngineConfig } from '../sync-engine.config';
import { ThreadBindingRepository } from '../threads/thread-binding.repository';
import { BatchContext, earliest } from './batch-context';
import { BatchContextRepository } from './batch-context.repository';
import { announceDecision, countRepeat, emitDecided } from './decision-effects';
import { MessageDecisionRepository, type DecisionToRecord } from './message-decision.repository';
import {
  ConnectionsMayBeBehindError,
  MailboxNotKnownError,
  ObserveMessageUseCase,
} from './observe-message.use-case';

export interface BatchItem {
  readonly eventId: string;
  readonly observed: ObservedMessage;
  readonly context?: { correlationId?: string; traceparent?: string };
}

/** The writes of the batch's decisions so far, applied together (one statement per table). */
class PendingWrites {
  readonly bindings = new Map<string, NewBinding>();
  readonly keys = new Map<
    string,
    { bindingId: string; mailboxKey: string; key: string; pmid: string | null; firstAt: string | null }
  >();
  readonly decisions: DecisionToRecord[] = [];
  readonly repeats: Array<{ mailboxKey: string; providerMessageId: string }> = [];
  readonly parks: Array<{ eventId: string; observed: ObservedMessage; keys: string[] }> = [];
  readonly smartBcc: Array<{ address: string; locationId: string; userId: string }> = [];

  get empty(): boolean {
    return this.decisions.length === 0 && this.repeats.length === 0;
  }

  add(eventId: string, observed: ObservedMessage, decision: ObservedDecision): void {
    for (const b of decision.newBindings)
      if (!this.bindings.has(b.bindingId)) this.bindings.set(b.bindingId, b);
    const additions: KeyAddition[] = [...decision.newBindings, ...decision.keyAdditions];
    for (const a of additions) {
      for (const k of a.keys) {
        // Merged in event order as the database merges one save after another: first provider id, earliest first_at.
        const id = `${a.mailboxKey}\u0000${k.key}\u0000${a.bindingId}`;
        const old = this.keys.get(id);
        this.keys.set(id, {
          bindingId: a.bindingId,
          mailboxKey: a.mailboxKey,
          key: k.key,
          pmid: old?.pmid ?? k.providerMessageId,
          firstAt: old ? earliest(old.firstAt, k.firstAt ?? null) : (k.firstAt ?? null),
        });
      }
    }
    this.decisions.push({ eventId, observed, decision });
    if (decision.park) this.parks.push({ eventId, observed, keys: parkKeys(observed.message) });
    if (decision.learnedSmartBcc) this.smartBcc.push(decision.learnedSmartBcc);
  }
}

/** The batch is rolled back and its events delivered one at a time (see executeBatch). */
export class SmartBccInBatchError extends Error {
  constructor() {
    super('a smart-BCC copy in the batch: delivered one event at a time');
    this.name = 'SmartBccInBatchError';
  }
}

/**
 * Issue 16: a batch of observed messages in the caller's one transaction, with a constant number of statements: the
 * mailboxes locked in one sorted pass (concurrent batches cannot deadlock), everything the pure decisions read loaded
 * in one statement, the decisions taken in memory in event order over an overlay of what earlier ones wrote, then
 * every write in one multi-row statement per table; outbox events are emitted in order through tx.emit.
 * A message the overlay cannot decide exactly (a key naming a binding never read) takes the single
 * path after the pending writes are flushed; so does the second look at parked messages a decision's keys wake.
 * Throws what `execute` throws (ConnectionsMayBeBehindError included): the caller rolls the batch back and delivers
 * its messages one at a time.
 */
@Injectable()
export class ObserveBatchUseCase {
  constructor(
    private readonly single: ObserveMessageUseCase,
    private readonly context: BatchContextRepository,
    private readonly decisions: MessageDecisionRepository,
    private readonly bindings: ThreadBindingRepository,
    @Inject(SYNC_ENGINE_CONFIG) private readonly config: SyncEngineConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
  ) {}

  async executeBatch(tx: TransactionContext, items: readonly BatchItem[]): Promise<void> {
    // A smart-BCC copy locks the mailboxes of the users its decision names: taken after this batch's sorted locks, a
    // concurrent batch could deadlock with it. Such a batch goes one event at a time (rare: Auto-BCC mail).
    if (items.some((i) => i.observed.source === 'smart_bcc')) throw new SmartBccInBatchError();
    await this.bindings.lockMailboxes(
      tx.manager,
      items.map((i) => i.observed.mailboxKey),
    );
    const policy = this.single.policy;
    let overlay: BatchContext | null = null;
    let pending = new PendingWrites();
    for (const [index, item] of items.entries()) {
      const { observed, eventId } = item;
      if (observed.source === 'mailbox') {
        overlay ??= new BatchContext(
          await this.context.load(
            tx.manager,
            items
              .slice(index)
              .filter((i) => i.observed.source === 'mailbox')
              .map((i) => i.observed),
            this.config.PARKED_MESSAGE_RETENTION_HOURS,
          ),
        );
        const ctx = overlay.contextFor(observed);
        if (ctx) {
          const current = overlay;
          await runWithContext(item.context ?? {}, async () => {
            if (ctx.alreadyDecided) {
              const stored = current.storedDecision(observed);
              if (stored) emitDecided(tx, observed, stored);
              pending.repeats.push({
                mailboxKey: observed.mailboxKey,
                providerMessageId: observed.message.providerMessageId,
              });
              countRepeat(tx, this.metrics, this.logger, observed);
              return;
            }
            if (!ctx.connections.some(isLive)) throw new ConnectionsMayBeBehindError(observed.mailboxKey);
            if (ctx.connections.length === 0) throw new MailboxNotKnownError(observed.mailboxKey);
            const decision = decideObservedMessage({ observed, ...ctx, policy });
            const changed = current.applied(observed, decision);
            pending.add(eventId, observed, decision);
            announceDecision(tx, this.metrics, this.logger, observed, decision, null);
            // The single path's second look (SYN-6) reads the database: flushed first, then the overlay read again.
            if (ctx.hasParked && current.wakes(changed)) {
              await this.flush(tx, pending);
              pending = new PendingWrites();
              overlay = null;
              await this.single.replayParked(tx, changed);
            }
          });
          continue;
        }
      }
      // The single path reads the database: what the batch decided so far must be there first.
      await this.flush(tx, pending);
      pending = new PendingWrites();
      overlay = null;
      await runWithContext(item.context ?? {}, () =>
        this.single.execute(tx, eventId, observed, undefined, true),
      );
    }
    await this.flush(tx, pending);
  }

  private async flush(tx: TransactionContext, w: PendingWrites): Promise<void> {
    if (w.empty) return;
    const db = tx.manager;
    const keys = [...w.keys.values()];
    await this.bindings.save(
      db,
      [...w.bindings.values()].map((b) => ({ ...b, keys: [] })),
      keys.map((k) => ({
        bindingId: k.bindingId,
        mailboxKey: k.mailboxKey,
        keys: [{ key: k.key, providerMessageId: k.pmid, firstAt: k.firstAt }],
      })),
    );
    await this.decisions.recordMany(db, w.decisions);
    // After the records: a repeat of a message decided earlier in this batch counts on its new row.
    await this.decisions.countRepeats(db, w.repeats);
    await this.decisions.parkMany(db, w.parks);
    await this.decisions.learnSmartBccMany(db, w.smartBcc);
  }
}
