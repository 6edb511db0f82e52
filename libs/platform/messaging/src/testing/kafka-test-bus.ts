import { randomUUID } from 'node:crypto';
import type { EventCatalog } from '@mailbridge/contracts';
import { createLogger, Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import type { RetryPolicy } from '../event-bus.port';
import { KafkaEventBus, KafkaEventBusOptions } from '../kafka.event-bus';

export const testLogger: Logger = createLogger({
  service: 'messaging-test',
  level: process.env.TEST_LOG_LEVEL ?? 'silent',
});

/**
 * A KafkaEventBus tuned for the mock cluster, idempotent producer on as in production:
 * - short session timeout: the mock waits for members during a rebalance up to it, and evicts a hung member
 *   after it; the first join of a group always takes ~3 s (the mock's fixed group.initial.rebalance.delay);
 * - short fetch waits and heartbeats.
 */
export function createTestKafkaBus(
  brokers: readonly string[],
  setup: { catalog: EventCatalog; retry?: Partial<RetryPolicy>; metrics?: ServiceMetrics },
  overrides: Partial<KafkaEventBusOptions> = {},
): KafkaEventBus {
  return new KafkaEventBus({
    brokers,
    clientId: `messaging-test-${randomUUID().slice(0, 8)}`,
    catalog: setup.catalog,
    logger: testLogger,
    metrics: setup.metrics,
    retry: setup.retry,
    topicReadyTimeoutMs: 10_000,
    consumer: {
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      rebalanceTimeoutMs: 6_000,
      maxWaitTimeMs: 100,
      partitionsConsumedConcurrently: 4,
      joinTimeoutMs: 30_000,
    },
    ...overrides,
  });
}
