import type { EventCatalog, EventEnvelope } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { BusMetrics } from './bus-metrics';
import type { BatchSpec } from './event-bus.port';
import type { KafkaMessage } from './kafka-client';

export interface BatchDeliveryDeps {
  readonly batch: BatchSpec;
  readonly groupId: string;
  readonly catalog: EventCatalog;
  readonly logger: Logger;
  readonly metrics: BusMetrics;
  /** Waits out a rebalance; false when the partition was revoked or the subscription stops (nothing more starts). */
  readonly mayStart: () => Promise<boolean>;
  /** One record through the subscription's `handler`, with retries and dead letters; false when stopped. */
  readonly handleOne: (message: KafkaMessage) => Promise<boolean>;
}

type Run = ReadonlyArray<{ readonly message: KafkaMessage; readonly event: EventEnvelope }>;

/**
 * The batch path (SubscriptionSpec.batch) for records of one partition, in log order: valid events in runs handed
 * to the batch handler (the caller commits once everything resolved); an invalid record ends the run and is
 * dead-lettered on its own (through `handleOne`); a run that rejects is delivered again one event at a time through
 * `handleOne`, so one failing event fails only itself. False when stopped before everything was settled.
 */
export async function deliverBatch(
  partition: { readonly topic: string; readonly partition: number },
  messages: readonly KafkaMessage[],
  deps: BatchDeliveryDeps,
): Promise<boolean> {
  let run: Array<{ message: KafkaMessage; event: EventEnvelope }> = [];
  for (const message of messages) {
    let event: EventEnvelope | undefined;
    try {
      event = deps.catalog.deserialize(message.value?.toString('utf8') ?? null, message.topic);
    } catch {
      event = undefined;
    }
    if (event) {
      run.push({ message, event });
      continue;
    }
    if (!(await deliverRun(partition, run, deps))) return false;
    run = [];
    if (!(await deps.handleOne(message))) return false;
  }
  return deliverRun(partition, run, deps);
}

async function deliverRun(
  partition: { readonly topic: string; readonly partition: number },
  run: Run,
  deps: BatchDeliveryDeps,
): Promise<boolean> {
  if (run.length === 0) return true;
  if (!(await deps.mayStart())) return false;
  const first = run[0].message;
  const last = run[run.length - 1].message;
  const started = process.hrtime.bigint();
  try {
    await deps.batch.handler(
      run.map((r) => r.event),
      {
        topic: partition.topic,
        groupId: deps.groupId,
        partition: partition.partition,
        firstOffset: first.offset.toString(),
        lastOffset: last.offset.toString(),
      },
    );
  } catch (error) {
    deps.logger.warn(
      { err: error, groupId: deps.groupId, ...partition, size: run.length },
      'batch handler failed; delivering its events one at a time',
    );
    for (const { message } of run) if (!(await deps.handleOne(message))) return false;
    return true;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9 / run.length;
  for (const { event } of run)
    deps.metrics.consumed(partition.topic, deps.groupId, seconds, event.occurredAt);
  return true;
}
