import type { DataSource } from 'typeorm';
import type { EventBus } from '@mailbridge/platform-messaging';
import type { ServiceMetrics } from '@mailbridge/platform-observability';
import { PlatformStatsRepository } from '@mailbridge/platform-persistence';

/**
 * Gauges read on every scrape of `/metrics`: the outbox (depth, oldest age) and quarantine of this service's schema
 * in one query, and what its bus knows (consumer lag per group and topic, dead letters per topic). A source that
 * cannot answer leaves its gauges as they were (the scrape still answers; readiness says what is down).
 */
export function registerPlatformGauges(metrics: ServiceMetrics, dataSource: DataSource, bus: EventBus): void {
  const outboxDepth = metrics.gauge('mailbridge_outbox_depth', 'Outbox rows not yet published');
  const outboxAge = metrics.gauge(
    'mailbridge_outbox_oldest_age_seconds',
    'Age of the oldest unpublished outbox row (0 when empty)',
  );
  const quarantine = metrics.gauge('mailbridge_quarantine_items', 'Quarantined events by status', ['status']);
  const lag = metrics.gauge('mailbridge_consumer_lag', 'Events a consumer group has not committed yet', [
    'transport',
    'group',
    'topic',
  ]);
  const deadLetters = metrics.gauge('mailbridge_dead_letters', 'Dead letters kept per original topic', [
    'transport',
    'topic',
  ]);
  const stats = new PlatformStatsRepository(dataSource);
  // Declared here so it is listed before the first quarantine (EventQuarantine increments it).
  metrics.counter(
    'mailbridge_events_quarantined_total',
    'Events quarantined after their last failed attempt',
    ['group', 'code'],
  );

  metrics.onScrape(async () => {
    const s = await stats.read();
    outboxDepth.set(s.outboxDepth);
    outboxAge.set(s.outboxOldestAgeSeconds);
    for (const [status, count] of Object.entries(s.quarantine)) quarantine.set({ status }, count);
  });
  metrics.onScrape(async () => {
    const s = await bus.stats?.();
    if (!s) return;
    lag.reset();
    for (const l of s.consumerLag)
      lag.set({ transport: bus.transport, group: l.groupId, topic: l.topic }, l.lag);
    deadLetters.reset();
    for (const d of s.deadLetters) deadLetters.set({ transport: bus.transport, topic: d.topic }, d.count);
  });
}
