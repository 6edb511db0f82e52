import { DLQ_SUFFIX, EventCatalog, EventEnvelope } from '@mailbridge/contracts';
import { Logger, runWithContext } from '@mailbridge/platform-observability';
import type { BusMetrics } from './bus-metrics';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  DeadLetter,
  DeadLetterHeaders,
  DeliveryContext,
  errorCodeOf,
  errorMessageOf,
  EventHandler,
  isPermanent,
  MAX_TOTAL_RETRY_DELAY_MS,
  RetryPolicy,
  worstCaseRetryDelayMs,
} from './event-bus.port';

/** One record as read off a topic, before any parsing. */
export interface ReceivedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The in-process bus validated this value itself when it was published in this process (`publish`, not
   * `publishRaw`; an outbox's JSON only if it passed), so reading it needs no schema check again.
   */
  readonly validated?: boolean;
}

/**
 * The envelope a record carries: parsed and validated (throws EventValidationError), unless the bus validated it on
 * publish in this process (`validated`): then only parsed, each call a fresh copy no other handler sees.
 */
export function envelopeOf(record: ReceivedRecord, catalog: EventCatalog): EventEnvelope {
  if (record.validated && record.value !== null) return JSON.parse(record.value) as EventEnvelope;
  return catalog.deserialize(record.value, record.topic);
}

export type DeliveryOutcome =
  | { readonly status: 'handled'; readonly attempts: number }
  | {
      readonly status: 'dead-lettered';
      readonly deadLetter: DeadLetter;
      readonly headers: Record<string, string>;
    }
  /** The subscription stopped while waiting to retry: nothing is settled, the event must be delivered again. */
  | { readonly status: 'aborted' };

export interface DeliveryOptions {
  readonly catalog: EventCatalog;
  readonly groupId: string;
  readonly handler: EventHandler;
  readonly policy: RetryPolicy;
  readonly logger: Logger;
  readonly metrics: BusMetrics;
  /** Aborted when the subscription stops: the current attempt finishes, no further one starts. */
  readonly signal: AbortSignal;
  /** Called regularly while waiting to retry (a Kafka consumer must keep heartbeating to keep its partitions). */
  readonly keepAlive?: () => Promise<void>;
  readonly keepAliveIntervalMs?: number;
}

export function resolveRetryPolicy(...overrides: (Partial<RetryPolicy> | undefined)[]): RetryPolicy {
  const policy = Object.assign({}, DEFAULT_RETRY_POLICY, ...overrides.map((o) => stripUndefined(o ?? {})));
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new Error(`retry.maxAttempts must be a positive integer, got ${policy.maxAttempts}`);
  }
  // One poison event must never hold its partition for long (SYN-10): a policy that could is refused at start.
  const worst = worstCaseRetryDelayMs(policy);
  if (worst > MAX_TOTAL_RETRY_DELAY_MS) {
    throw new Error(
      `retry policy waits up to ${worst} ms in all between attempts; at most ${MAX_TOTAL_RETRY_DELAY_MS} ms is allowed`,
    );
  }
  return policy;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const MAX_REASON_LENGTH = 2_000;

/** Events per batch when a BatchSpec names no maximum. */
export const DEFAULT_MAX_BATCH = 100;

/**
 * Delivers one record to one group's handler with the semantics both adapters promise: parse and validate
 * (invalid: dead letter at once), run the handler in the event's correlation context, retry transient errors
 * with backoff, dead-letter a permanent error or the last failure. The caller writes the dead letter and then
 * commits; it never moves past a record whose outcome is `aborted`.
 */
export async function deliverRecord(
  record: ReceivedRecord,
  options: DeliveryOptions,
): Promise<DeliveryOutcome> {
  const { groupId, logger, metrics, policy } = options;
  let envelope: EventEnvelope;
  try {
    envelope = envelopeOf(record, options.catalog);
  } catch (error) {
    return deadLetter(record, options, 0, error);
  }

  for (let attempt = 1; ; attempt++) {
    const context: DeliveryContext = {
      topic: record.topic,
      groupId,
      attempt,
      maxAttempts: policy.maxAttempts,
      partition: record.partition,
      offset: record.offset,
    };
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      await runWithContext({ correlationId: envelope.correlationId, traceparent: envelope.traceparent }, () =>
        options.handler(envelope, context),
      );
      metrics.consumed(record.topic, groupId, elapsed(), envelope.occurredAt);
      return { status: 'handled', attempts: attempt };
    } catch (error) {
      metrics.failed(record.topic, groupId, errorCodeOf(error), elapsed());
      if (isPermanent(error) || attempt >= policy.maxAttempts) {
        return deadLetter(record, options, attempt, error, envelope);
      }
      const delayMs = backoffDelay(policy, attempt);
      logger.warn(
        {
          err: error,
          topic: record.topic,
          groupId,
          eventId: envelope.id,
          type: envelope.type,
          attempt,
          retryInMs: delayMs,
        },
        'event handler failed; will retry',
      );
      if (!(await waitToRetry(delayMs, options))) return { status: 'aborted' };
    }
  }
}

/** Waits between attempts, heartbeating meanwhile. False when the subscription stopped. */
async function waitToRetry(delayMs: number, options: DeliveryOptions): Promise<boolean> {
  const deadline = Date.now() + delayMs;
  const slice = options.keepAliveIntervalMs ?? 1_000;
  while (!options.signal.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) return true;
    await abortableSleep(Math.min(left, slice), options.signal);
    // A heartbeat error (the group is rebalancing) propagates: the consumer rejoins and the event comes again.
    if (!options.signal.aborted) await options.keepAlive?.();
  }
  return false;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function deadLetter(
  record: ReceivedRecord,
  options: DeliveryOptions,
  attempts: number,
  error: unknown,
  envelope?: EventEnvelope,
): DeliveryOutcome {
  const code = errorCodeOf(error);
  const reason = errorMessageOf(error).slice(0, MAX_REASON_LENGTH);
  const dlqHeaders: DeadLetter['headers'] = {
    [DeadLetterHeaders.reason]: reason,
    [DeadLetterHeaders.errorCode]: code,
    [DeadLetterHeaders.originalTopic]: record.topic,
    [DeadLetterHeaders.originalPartition]: String(record.partition),
    [DeadLetterHeaders.originalOffset]: record.offset,
    [DeadLetterHeaders.groupId]: options.groupId,
    [DeadLetterHeaders.attempts]: String(attempts),
    [DeadLetterHeaders.failedAt]: new Date().toISOString(),
  };
  options.metrics.deadLettered(record.topic, options.groupId, code);
  options.logger.error(
    {
      err: error,
      topic: record.topic,
      groupId: options.groupId,
      partition: record.partition,
      offset: record.offset,
      eventId: envelope?.id,
      type: envelope?.type,
      attempts,
    },
    'event sent to the dead-letter topic',
  );
  return {
    status: 'dead-lettered',
    deadLetter: {
      topic: `${record.topic}${DLQ_SUFFIX}`,
      key: record.key,
      value: record.value ?? '',
      headers: dlqHeaders,
    },
    // The record as it was received, annotated: the original headers travel with the letter so a replay keeps them.
    headers: { ...record.headers, ...dlqHeaders },
  };
}
