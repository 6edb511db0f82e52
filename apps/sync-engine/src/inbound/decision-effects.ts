import {
  contactCreateRequestedV1,
  messageDecidedV1,
  messageSkippedV1,
  messageSyncedV1,
} from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import type { ObservedDecision, ObservedMessage } from '../decisions/decision.types';
import { ledgerOutcomeOf } from './ledger-outcome';

/**
 * What a decision tells the world, shared by the single and the batch path (issue 16) so both emit the same events,
 * in the same order, with the same metrics and logs. No I/O of its own: tx.emit only queues outbox rows.
 */

/** SYN-10: the outcome, ids and codes only, for mail-gateway's ledger of outcomes. */
export function emitDecided(
  tx: TransactionContext,
  observed: ObservedMessage,
  decision: Parameters<typeof ledgerOutcomeOf>[0],
): void {
  // The smart-BCC receiver's messages are not of a watched mailbox: the audit never lists them.
  if (observed.source !== 'mailbox') return;
  tx.emit(messageDecidedV1, {
    mailboxKey: observed.mailboxKey,
    providerMessageId: observed.message.providerMessageId,
    ...ledgerOutcomeOf(decision),
    decidedAt: new Date().toISOString(),
  });
}

/** Counted when the transaction commits: a batch that rolls back and is redelivered one by one counts once. */
const decisions = (metrics: ServiceMetrics) =>
  metrics.counter('sync_engine_decisions_total', 'Observed messages decided', ['outcome']);

export function countRepeat(
  tx: TransactionContext,
  metrics: ServiceMetrics,
  logger: Logger,
  observed: ObservedMessage,
): void {
  tx.afterCommit(() => decisions(metrics).inc({ outcome: 'repeat' }));
  logger.debug(
    {
      mailboxKey: observed.mailboxKey,
      providerMessageId: observed.message.providerMessageId,
      rule: 'SYN-5',
    },
    'message already decided: repeat ignored',
  );
}

/** The events of an applied decision (ledger outcome, contact requests, deliveries, published skips), then metrics and logs. */
export function announceDecision(
  tx: TransactionContext,
  metrics: ServiceMetrics,
  logger: Logger,
  observed: ObservedMessage,
  decision: ObservedDecision,
  parkedAt: string | null,
): void {
  const m = observed.message;
  emitDecided(tx, observed, { ...decision, outcome: decision.park ? 'parked' : decision.outcome });
  for (const c of decision.contactRequests) {
    tx.emit(contactCreateRequestedV1, { ...c, requestedAt: observed.observedAt });
  }
  for (const d of decision.deliveries) {
    tx.emit(messageSyncedV1, {
      deliveryId: d.deliveryId,
      locationId: d.locationId,
      contactId: d.contactId,
      conversationId: d.conversationId,
      connectionId: d.connectionId,
      userId: d.userId,
      direction: d.direction,
      source: d.source,
      crmMessageId: d.crmMessageId,
      message: d.message,
      rule: d.rule,
    });
  }
  for (const s of decision.skips) {
    if (!s.publish || !s.locationId) continue;
    tx.emit(messageSkippedV1, {
      locationId: s.locationId,
      userId: s.userId,
      contactId: s.contactId,
      connectionId: s.connectionId,
      mailboxKey: observed.mailboxKey,
      providerMessageId: m.providerMessageId,
      rfcMessageId: m.rfcMessageId,
      subject: m.subject,
      from: m.from,
      reason: s.reason,
      rule: s.rule,
      detail: s.detail.slice(0, 2000),
      occurredAt: observed.observedAt,
    });
  }
  const outcome = decision.park ? 'parked' : decision.outcome;
  tx.afterCommit(() => decisions(metrics).inc({ outcome }));
  // Loss path 5: counted once, at the first decision (a parked message's second look is not a second collision).
  if (decision.messageIdCollision && parkedAt === null) {
    tx.afterCommit(() =>
      metrics
        .counter(
          'sync_engine_message_id_collisions_total',
          'Messages whose Message-ID another message of the mailbox already carries; both kept',
        )
        .inc(),
    );
    logger.warn(
      { mailboxKey: observed.mailboxKey, providerMessageId: m.providerMessageId, rule: 'SYN-5' },
      'Message-ID reused by another message: kept as its own message',
    );
  }
  logger.info(
    {
      mailboxKey: observed.mailboxKey,
      providerMessageId: m.providerMessageId,
      outcome: decision.outcome,
      rules: decision.rules,
      deliveries: decision.deliveries.map((d) => `${d.locationId}/${d.contactId} ${d.rule}`),
      skips: decision.skips.map((s) => `${s.locationId ?? '-'} ${s.reason} ${s.rule}`),
    },
    'sync decision',
  );
}
