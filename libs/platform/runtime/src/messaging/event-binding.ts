import { eventCatalog, type EventEnvelope } from '@mailbridge/contracts';
import type { DeliveryContext } from '@mailbridge/platform-messaging';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import type { ConsumerContext, OnEventMetadata } from './on-event.decorator';

/** A decorated method, bound to its instance: `(event, tx)` or, opted out, `(event, consumer)`. */
export type BoundMethod = (
  event: EventEnvelope,
  second: TransactionContext | ConsumerContext,
) => Promise<void>;

/**
 * What the platform runs for a consumer. It takes a list from the start: the bus delivers one event at a time today
 * (a list of one), and batch delivery (issue 16) only changes the caller and `deliverBatch` below.
 */
export type BatchHandler = (events: readonly EventEnvelope[], delivery: DeliveryContext) => Promise<void>;

/**
 * Owns what every consumer used to repeat: only events of the method's definitions reach it (other events on the
 * topic are acknowledged without running it), and each runs inside `handleOnce` keyed by the group, so its effect and
 * its inbox row commit together or not at all.
 */
export function bindConsumer(metadata: OnEventMetadata, method: BoundMethod, uow: UnitOfWork): BatchHandler {
  const handles = (event: EventEnvelope) => metadata.definitions.some((def) => eventCatalog.is(event, def));
  const runOne = (event: EventEnvelope, delivery: DeliveryContext): Promise<unknown> =>
    metadata.transaction
      ? uow.handleOnce(metadata.group, event, (tx) => method(event, tx))
      : method(event, { delivery, handleOnce: (work) => uow.handleOnce(metadata.group, event, work) });
  return (events, delivery) => deliverBatch(events.filter(handles), delivery, runOne);
}

/**
 * THE BATCH SEAM (issue 16). Today: one unit of work per event, in order, so a failure is that event's alone and the
 * quarantine isolates it. One transaction per batch goes here (one `uow.run`, an inbox insert per event, the handler
 * per event inside it), with a fall-back to this per-event loop when the batch fails, so one poison event still only
 * quarantines itself.
 */
async function deliverBatch(
  events: readonly EventEnvelope[],
  delivery: DeliveryContext,
  runOne: (event: EventEnvelope, delivery: DeliveryContext) => Promise<unknown>,
): Promise<void> {
  for (const event of events) await runOne(event, delivery);
}
