import { eventCatalog, type EventEnvelope } from '@mailbridge/contracts';
import type { BatchEventHandler, DeliveryContext } from '@mailbridge/platform-messaging';
import { runWithContext } from '@mailbridge/platform-observability';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import type { ConsumerContext, OnEventMetadata } from './on-event.decorator';

/**
 * A decorated method, bound to its instance: `(event, tx)` or, opted out, `(event, consumer)`; declared with
 * `batch: true`, `(events, tx)`.
 */
export type BoundMethod = (
  event: EventEnvelope | readonly EventEnvelope[],
  second: TransactionContext | ConsumerContext,
) => Promise<void>;

/** The one-at-a-time path: a list of one from the bus (and the fall-back of a failed batch). */
export type BatchHandler = (events: readonly EventEnvelope[], delivery: DeliveryContext) => Promise<void>;

const contextOf = (event: EventEnvelope) => ({
  correlationId: event.correlationId,
  traceparent: event.traceparent,
});

function handlesOf(metadata: OnEventMetadata): (event: EventEnvelope) => boolean {
  return (event) => metadata.definitions.some((def) => eventCatalog.is(event, def));
}

/**
 * Owns what every consumer used to repeat: only events of the method's definitions reach it (other events on the
 * topic are acknowledged without running it), and each runs inside `handleOnce` keyed by the group, so its effect and
 * its inbox row commit together or not at all. This is the single path; the runtime's quarantine wraps it.
 */
export function bindConsumer(metadata: OnEventMetadata, method: BoundMethod, uow: UnitOfWork): BatchHandler {
  const handles = handlesOf(metadata);
  const runOne = (event: EventEnvelope, delivery: DeliveryContext): Promise<unknown> =>
    metadata.transaction
      ? uow.handleOnce(metadata.group, event, (tx) => method(metadata.batch ? [event] : event, tx))
      : method(event, { delivery, handleOnce: (work) => uow.handleOnce(metadata.group, event, work) });
  return async (events, delivery) => {
    for (const event of events.filter(handles)) await runOne(event, delivery);
  };
}

/**
 * The batch path (issue 16) of a consumer that runs in a transaction; undefined for one that opted out (it owns its
 * transactions, so it keeps the single path). See deliverBatch.
 */
export function bindBatchConsumer(
  metadata: OnEventMetadata,
  method: BoundMethod,
  uow: UnitOfWork,
): BatchEventHandler | undefined {
  if (!metadata.transaction) return undefined;
  const handles = handlesOf(metadata);
  const work = metadata.batch
    ? (events: readonly EventEnvelope[], tx: TransactionContext) => method(events, tx)
    : async (events: readonly EventEnvelope[], tx: TransactionContext) => {
        // Each event in its own correlation context, so what it emits carries its correlation id.
        for (const event of events) await runWithContext(contextOf(event), () => method(event, tx));
      };
  return (events) => deliverBatch(events.filter(handles), metadata.group, uow, work);
}

/**
 * One transaction per batch: the events the group quarantined before are left alone (checked inside the inbox
 * insert), the inbox rows of the others are written in one statement, the handler runs for each event not handled before, in log order, and
 * the outbox rows of the whole batch go in one insert at the commit (UnitOfWork.handleBatch). Any error rejects: the
 * transaction rolls back, nothing of the batch is recorded, and the bus delivers the same events one at a time
 * through the single path (per-event `handleOnce` under the quarantine), so a poison event only fails itself.
 */
async function deliverBatch(
  events: readonly EventEnvelope[],
  group: string,
  uow: UnitOfWork,
  work: (events: readonly EventEnvelope[], tx: TransactionContext) => Promise<void>,
): Promise<void> {
  if (events.length === 0) return;
  await uow.handleBatch(group, events, work, { quarantinedBy: group });
}
