import type { EventEnvelope } from '@mailbridge/contracts';

/** An event ready to publish: its topic and its validated envelope. */
export interface OutgoingEvent {
  readonly topic: string;
  readonly envelope: EventEnvelope;
  /**
   * The envelope's JSON as `EventCatalog.create` validated and serialized it (the outbox's copy): the bus sends this
   * text as it is instead of validating and serializing the envelope again. Only for that text, never for input.
   */
  readonly json?: string;
}

export interface DeliveryContext {
  readonly topic: string;
  readonly groupId: string;
  /** 1 on first delivery to the handler, then 2, 3... while retrying. */
  readonly attempt: number;
  /** The policy's attempts in all: when `attempt` reaches it, a failure is final (quarantined by the platform). */
  readonly maxAttempts: number;
  readonly partition: number;
  /** Kafka offset, or the in-process log position. */
  readonly offset: string;
}

/** A handler receives an envelope that already passed schema validation. */
export type EventHandler = (event: EventEnvelope, context: DeliveryContext) => Promise<void>;

export interface RetryPolicy {
  /** Attempts in all (the first delivery included) before the event goes to the dead-letter topic. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 10_000 };

/**
 * The most a policy may wait between attempts of one event, in all: a poison event delays its partition by this plus
 * its attempts' run time, and the whole must stay under a minute (SYN-10). The default waits at most 3 s.
 */
export const MAX_TOTAL_RETRY_DELAY_MS = 45_000;

/** The longest a policy can wait in all between the attempts of one event (full jitter at its top). */
export function worstCaseRetryDelayMs(policy: RetryPolicy): number {
  let total = 0;
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++)
    total += Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  return total;
}

/** Where a batch came from: one partition of one topic, its events in log order. */
export interface BatchDeliveryContext {
  readonly topic: string;
  readonly groupId: string;
  readonly partition: number;
  readonly firstOffset: string;
  readonly lastOffset: string;
}

/**
 * The batch path (issue 16). The bus hands up to `maxEvents` already-validated events of one partition at once, in log
 * order. Resolves: every event of the batch is handled, and the bus commits past the last. Rejects: the batch settled
 * nothing; the bus then delivers the same events one at a time through the subscription's `handler`, with its usual
 * retry and dead-letter policy, so one failing event fails only itself. Events that fail validation never enter a batch
 * (they are dead-lettered as before). A crash mid-batch redelivers the whole batch: handlers stay idempotent (inbox).
 */
export type BatchEventHandler = (
  events: readonly EventEnvelope[],
  context: BatchDeliveryContext,
) => Promise<void>;

export interface BatchSpec {
  readonly handler: BatchEventHandler;
  /** Most events per batch (default 100). */
  readonly maxEvents?: number;
}

export interface SubscriptionSpec {
  /** One consumer group per service and purpose, e.g. `sync-engine.contacts`. */
  readonly groupId: string;
  readonly topics: readonly string[];
  /** One event at a time: always required, it is also the fall-back when a batch fails. */
  readonly handler: EventHandler;
  /** Optional: adapters that support it deliver batches here first (see BatchEventHandler). */
  readonly batch?: BatchSpec;
  readonly retry?: Partial<RetryPolicy>;
}

/**
 * Several consumers of one service read through one consumer group (issue 16: one fetch loop, one membership and one
 * heartbeat per service instead of one per consumer). Each consumer still sees every event of its topics in order per
 * key, with its own retries and dead letters, named by its own `groupId`; the group commits past an event once every
 * consumer of its topic settled it. A consumer that already handled events under its own group (before the service
 * moved to the shared one) is not handed them again: the shared group starts from the consumers' committed offsets.
 */
export interface SharedSubscriptionSpec {
  /** The service's consumer group, e.g. `sync-engine`. */
  readonly groupId: string;
  /** Each with its own `groupId` (`<service>.<purpose>`), the group it had on its own. */
  readonly consumers: readonly SubscriptionSpec[];
}

export interface Subscription {
  stop(): Promise<void>;
}

export interface BusHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

/** How far a consumer group is behind on a topic: events published to it that the group has not committed. */
export interface ConsumerLag {
  readonly groupId: string;
  readonly topic: string;
  readonly lag: number;
}

/** What the bus can tell about its consumers and dead letters (served on `/metrics`). */
export interface BusStats {
  readonly consumerLag: readonly ConsumerLag[];
  /** Dead letters kept per original topic (in-process: of this service's groups; Kafka: in `<topic>.dlq`). */
  readonly deadLetters: ReadonlyArray<{ readonly topic: string; readonly count: number }>;
}

/**
 * The one messaging port the services code against. Two adapters: Kafka (distributed) and in-process (embedded).
 *
 * Both promise the same things:
 * - `publish` validates every envelope against the event catalog and resolves only once the events are durably
 *   accepted (Kafka: acknowledged by the brokers; in-process: handled, or dead-lettered into its store, by every
 *   group the bus knows); it rejects when that cannot be promised. The outbox relay deletes its rows only after that.
 * - events with the same key are handled in order within a group;
 * - a handler error is retried with exponential backoff; after `maxAttempts`, or at once for an event that fails
 *   validation or a `PermanentEventError`, the event goes to `<topic>.dlq` with the reason and the group moves on
 *   (the services' handlers are wrapped by the runtime's quarantine, which records a last failure and returns: only
 *   invalid events and failures it could not record reach the dead-letter topic);
 * - delivery is at least once: handlers deduplicate by envelope id (the persistence lib's inbox does it).
 */
export interface EventBus {
  readonly transport: 'kafka' | 'in-process';
  publish(events: readonly OutgoingEvent[]): Promise<void>;
  /**
   * Optional two-step `publish`: resolves once the events are accepted in order (a later call's events come after
   * them), `delivered` as `publish` would. Only a bus that accepts before it delivers offers it (in-process).
   */
  publishAccepted?(events: readonly OutgoingEvent[]): Promise<{ readonly delivered: Promise<void> }>;
  subscribe(spec: SubscriptionSpec): Promise<Subscription>;
  /** Optional: a bus without it gives each consumer its own group (see `subscribeConsumers`). */
  subscribeShared?(spec: SharedSubscriptionSpec): Promise<Subscription>;
  health(): Promise<BusHealth>;
  /** Consumer lag and dead-letter counts of the topics this bus's subscriptions read (cached where it costs). */
  stats?(): Promise<BusStats>;
  close(): Promise<void>;
}

/**
 * Subscribes a service's consumers: through one shared group where the bus offers it (Kafka), else one group each
 * (in-process, where a group costs no fetch loop). Either way each consumer's events, order and failures are its own.
 */
export async function subscribeConsumers(bus: EventBus, spec: SharedSubscriptionSpec): Promise<Subscription> {
  if (bus.subscribeShared) return bus.subscribeShared(spec);
  const settled = await Promise.allSettled(spec.consumers.map((consumer) => bus.subscribe(consumer)));
  const subscriptions = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => void (await Promise.all(subscriptions.map((s) => s.stop())));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { stop };
}

/** Thrown by a handler for an event that can never succeed: no retries, straight to the dead-letter topic. */
export class PermanentEventError extends Error {
  readonly permanent = true;
  constructor(
    message: string,
    readonly code = 'permanent_failure',
  ) {
    super(message);
    this.name = 'PermanentEventError';
  }
}

/** Headers written on every dead letter (Kafka headers; fields of the in-process dead-letter record). */
export const DeadLetterHeaders = {
  reason: 'x-dlq-reason',
  errorCode: 'x-dlq-error-code',
  originalTopic: 'x-dlq-original-topic',
  originalPartition: 'x-dlq-original-partition',
  originalOffset: 'x-dlq-original-offset',
  groupId: 'x-dlq-group',
  attempts: 'x-dlq-attempts',
  failedAt: 'x-dlq-failed-at',
} as const;

export interface DeadLetter {
  readonly topic: string;
  readonly key: string | null;
  /** The event exactly as it was received (it may not even be JSON). */
  readonly value: string;
  readonly headers: Record<(typeof DeadLetterHeaders)[keyof typeof DeadLetterHeaders], string>;
}

export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  // Full jitter keeps a burst of failing consumers from retrying in lockstep.
  return Math.round(exp / 2 + (random() * exp) / 2);
}

export function isPermanent(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as { permanent?: unknown }).permanent === true ||
      (error as { code?: unknown }).code === 'event_invalid')
  );
}

export function errorCodeOf(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'handler_failed';
}

export function errorMessageOf(error: unknown): string {
  const base = error instanceof Error ? error.message : String(error);
  const issues = (error as { issues?: unknown })?.issues;
  return Array.isArray(issues) && issues.length ? `${base}: ${issues.join('; ')}` : base;
}
