// The in-process bus's batch path (SubscriptionSpec.batch): a run of valid records of one partition to the batch
// handler at once; the bus moves the cursor by what this returns.
import type { EventCatalog, EventEnvelope } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { BusMetrics } from './bus-metrics';
import { DEFAULT_MAX_BATCH, envelopeOf } from './event-delivery';
import { endOf, type GroupCursor, type Member, type PartitionLog } from './in-process-partition-log';

export interface InProcessBatchDeps {
  readonly catalog: EventCatalog;
  readonly logger: Logger;
  readonly metrics: BusMetrics;
  /** Runs the handler marked as inside this bus (see the bus's publish). */
  readonly inHandler: <T>(run: () => T) => T;
}

/**
 * The valid records from the cursor on (up to the spec's maximum; a record that fails validation ends the batch and
 * is dead-lettered by the single path) go to the batch handler at once. Resolved: returns how many (the caller moves
 * the cursor past all of them). Rejected: nothing moved, returns minus how many, to go one at a time. Returns 0 when
 * the first record is invalid (the single path dead-letters it). A close while the batch runs waits for it (in
 * flight); a crash before it resolves leaves the cursor where it was and the publishers' copies in place.
 */
export async function deliverInProcessBatch(
  log: PartitionLog,
  cursor: GroupCursor,
  partition: number,
  member: Member,
  deps: InProcessBatchDeps,
): Promise<number> {
  const batch = member.spec.batch;
  if (!batch) return 0;
  const first = cursor.next[partition];
  const end = Math.min(endOf(log), first + (batch.maxEvents ?? DEFAULT_MAX_BATCH));
  const events: EventEnvelope[] = [];
  for (let offset = first; offset < end; offset++) {
    const record = log.records[offset - log.base];
    try {
      events.push(envelopeOf(record, deps.catalog));
    } catch {
      break;
    }
  }
  if (events.length === 0) return 0;
  const started = process.hrtime.bigint();
  const running = deps.inHandler(() =>
    batch.handler(events, {
      topic: cursor.topic,
      groupId: cursor.groupId,
      partition,
      firstOffset: String(first),
      lastOffset: String(first + events.length - 1),
    }),
  );
  // In flight for close and stop, which wait for it and must not fail with it.
  const settled = running.then(
    () => undefined,
    () => undefined,
  );
  member.inFlight.add(settled);
  try {
    await running;
  } catch (error) {
    deps.logger.warn(
      { err: error, groupId: cursor.groupId, topic: cursor.topic, partition, events: events.length },
      'event batch failed; delivering its events one at a time',
    );
    return -events.length;
  } finally {
    member.inFlight.delete(settled);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9 / events.length;
  for (const event of events) deps.metrics.consumed(cursor.topic, cursor.groupId, seconds, event.occurredAt);
  return events.length;
}
