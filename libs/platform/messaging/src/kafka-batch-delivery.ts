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
  /** The chunk's records validated once for all its consumers (see ChunkEnvelopes); without it, each one here. */
  readonly envelopes?: ChunkEnvelopes;
}

/**
 * The envelopes of one chunk, each record parsed and validated once however many consumers of the service read its
 * topic (issue 16: conversations reads sync.messages twice). The first consumer to ask gets the validated envelope,
 * every later one its own copy, so no handler sees what another one may have changed. Undefined: not a valid event.
 */
export class ChunkEnvelopes {
  private readonly parsed = new Map<KafkaMessage, EventEnvelope | undefined>();

  constructor(private readonly catalog: EventCatalog) {}

  of(message: KafkaMessage): EventEnvelope | undefined {
    if (this.parsed.has(message)) {
      const event = this.parsed.get(message);
      return event && structuredClone(event);
    }
    const event = parseEnvelope(this.catalog, message);
    this.parsed.set(message, event);
    return event;
  }
}

function parseEnvelope(catalog: EventCatalog, message: KafkaMessage): EventEnvelope | undefined {
  try {
    return catalog.deserialize(message.value?.toString('utf8') ?? null, message.topic);
  } catch {
    return undefined;
  }
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
    const event = deps.envelopes ? deps.envelopes.of(message) : parseEnvelope(deps.catalog, message);
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
