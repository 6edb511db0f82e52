// The in-process bus's options (what a host configures) and how their defaults resolve.
import type { EventCatalog } from '@mailbridge/contracts';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import type { RetryPolicy } from './event-bus.port';
import type { DeadLetterStore } from './in-process-dead-letters';

export interface InProcessEventBusOptions {
  readonly catalog: EventCatalog;
  readonly logger: Logger;
  readonly metrics?: ServiceMetrics;
  /** Defaults for every subscription (a subscription's own `retry` wins). */
  readonly retry?: Partial<RetryPolicy>;
  /** Virtual partitions per topic: keys hash onto them; partitions are handled in parallel (default 8). */
  readonly partitions?: number;
  /**
   * Records every group has handled that stay in each partition's log (default 10 000), so a group subscribing
   * later still reads recent history; older ones are dropped, like Kafka retention. Unhandled records are always kept.
   */
  readonly retainHandled?: number;
  /**
   * Holds every publish until `open()`. A host that starts its consumers one after another opens the bus once all
   * of them have subscribed: before that a publish could not know which groups must handle the events.
   */
  readonly holdUntilOpened?: boolean;
  /** Where dead letters are kept; an event counts as handled only once its dead letter is stored (default: memory). */
  readonly deadLetterStore?: DeadLetterStore;
}

/** Virtual partitions per topic (default 8); anything but a positive integer is refused. */
export function partitionsOf(options: Pick<InProcessEventBusOptions, 'partitions'>): number {
  const partitions = options.partitions ?? 8;
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`partitions must be a positive integer, got ${options.partitions}`);
  }
  return partitions;
}
