import type { ServiceMetrics } from '@mailbridge/platform-observability';

/** The bus's series in one registry (created once per registry: ServiceMetrics returns the same metric by name). */
function seriesOf(metrics: ServiceMetrics) {
  return {
    published: metrics.counter('mailbridge_events_published_total', 'Events accepted by the bus', [
      'transport',
      'topic',
    ]),
    consumed: metrics.counter('mailbridge_events_consumed_total', 'Events handled successfully', [
      'transport',
      'topic',
      'group',
    ]),
    failed: metrics.counter('mailbridge_event_handler_failures_total', 'Failed handler attempts', [
      'transport',
      'topic',
      'group',
      'code',
    ]),
    deadLettered: metrics.counter(
      'mailbridge_events_dead_lettered_total',
      'Events sent to the dead-letter topic',
      ['transport', 'topic', 'group', 'code'],
    ),
    lost: metrics.counter(
      'mailbridge_events_lost_total',
      'Records removed from the log (retention) before the group read them: never handled',
      ['transport', 'topic', 'group'],
    ),
    duration: metrics.histogram(
      'mailbridge_event_handler_duration_seconds',
      'Time spent in event handlers, per attempt',
      ['transport', 'topic', 'group'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    // Issue 16: where a message waits. Age since the envelope's occurredAt (its first event's commit, carried
    // along the pipeline) when a consumer has handled it; differences between consecutive consumers are the hops.
    age: metrics.histogram(
      'mailbridge_event_age_seconds',
      "Age of an event (since its envelope's occurredAt) when a consumer has handled it",
      ['transport', 'topic', 'group'],
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 15, 30, 60],
    ),
  };
}

/**
 * The bus's Prometheus series; both adapters report the same ones, told apart by the `transport` label. They go to
 * the registry of the service they belong to: the bus's own, or, for a bus several services share (embedded), the
 * registry of the owner named by the consumer group (`<owner>.<purpose>`) or by the publishing service's view.
 * Every series is declared up front, so it is listed before its first event (an alert needs the series to exist).
 */
export class BusMetrics {
  private readonly owners = new Map<string, ServiceMetrics>();

  constructor(
    private readonly metrics: ServiceMetrics | undefined,
    private readonly transport: 'kafka' | 'in-process',
  ) {
    if (metrics) seriesOf(metrics);
  }

  /** Series of the groups `<owner>.*` and of the publishes made as `owner` go to `metrics`. */
  addOwner(owner: string, metrics: ServiceMetrics): void {
    this.owners.set(owner, metrics);
    seriesOf(metrics);
  }

  /** The service a consumer group belongs to, when the bus knows its owners. */
  ownerOf(groupId: string): string | undefined {
    for (const owner of this.owners.keys()) if (groupId.startsWith(`${owner}.`)) return owner;
    return undefined;
  }

  private forGroup(groupId: string) {
    const owner = this.ownerOf(groupId);
    const metrics = owner ? this.owners.get(owner) : this.metrics;
    return metrics && seriesOf(metrics);
  }

  published(topic: string, count: number, owner?: string): void {
    const metrics = (owner && this.owners.get(owner)) || this.metrics;
    if (metrics) seriesOf(metrics).published.inc({ transport: this.transport, topic }, count);
  }

  /** `occurredAt`: the envelope's, for the age histogram (left out when the event could not be read). */
  consumed(topic: string, group: string, seconds: number, occurredAt?: string): void {
    const series = this.forGroup(group);
    series?.consumed.inc({ transport: this.transport, topic, group });
    series?.duration.observe({ transport: this.transport, topic, group }, seconds);
    const at = occurredAt === undefined ? NaN : Date.parse(occurredAt);
    if (series && Number.isFinite(at))
      series.age.observe({ transport: this.transport, topic, group }, Math.max(0, Date.now() - at) / 1000);
  }

  /** One failed handler attempt (it may still be retried). */
  failed(topic: string, group: string, code: string, seconds: number): void {
    const series = this.forGroup(group);
    series?.failed.inc({ transport: this.transport, topic, group, code });
    series?.duration.observe({ transport: this.transport, topic, group }, seconds);
  }

  /** Records the group never received: the log dropped them first (Kafka retention). */
  lost(topic: string, group: string, count: number): void {
    this.forGroup(group)?.lost.inc({ transport: this.transport, topic, group }, count);
  }

  deadLettered(topic: string, group: string, code: string): void {
    this.forGroup(group)?.deadLettered.inc({ transport: this.transport, topic, group, code });
  }
}
