import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { DLQ_SUFFIX, EventCatalog } from '@mailbridge/contracts';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import { BusClosedError } from './bus-closed.error';
import { BrokerProbe } from './broker-probe';
import { BusMetrics } from './bus-metrics';
import {
  DeadLetterAdmin,
  ListDeadLettersOptions,
  ListedDeadLetter,
  RawRecord,
  replayHeaders,
} from './dead-letter-admin';
import {
  BusHealth,
  BusStats,
  ConsumerLag,
  EventBus,
  OutgoingEvent,
  RetryPolicy,
  SharedSubscriptionSpec,
  Subscription,
  SubscriptionSpec,
} from './event-bus.port';
import { resolveRetryPolicy } from './event-delivery';
import { KafkaConnection, KafkaSasl } from './kafka-client';
import { readDeadLetterTopic, StoredDeadLetter } from './kafka-dead-letters';
import { KafkaBusProducer, ProducerRecord } from './kafka-producer';
import { KafkaConsumerTuning, KafkaSubscription } from './kafka-subscription';
import { KafkaTopicAdmin } from './kafka-topic-admin';
import { outgoingRecords } from './outgoing-records';

export type { KafkaConsumerTuning } from './kafka-subscription';
export type { KafkaSasl, KafkaSaslMechanism } from './kafka-client';

export interface KafkaEventBusOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly catalog: EventCatalog;
  readonly logger: Logger;
  readonly metrics?: ServiceMetrics;
  /** Defaults for every subscription (a subscription's own `retry` wins). */
  readonly retry?: Partial<RetryPolicy>;
  /** Idempotent producer (default true): broker-side deduplication of producer retries, no reordering. */
  readonly idempotent?: boolean;
  /** TLS to the brokers: `true` (system CAs plus EXTRA_CA_CERTS_FILE) or Node TLS options. */
  readonly ssl?: boolean | TlsConnectionOptions;
  /** SASL PLAIN or SCRAM-SHA-256/512. */
  readonly sasl?: KafkaSasl;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly consumer?: KafkaConsumerTuning;
  /** How long to wait for a new topic's metadata to appear (auto-creation) before giving up (default 30 000). */
  readonly topicReadyTimeoutMs?: number;
  /** How often readiness asks the brokers for metadata (default 3 000), and how long it waits (default 3 000). */
  readonly healthProbeIntervalMs?: number;
  readonly healthProbeTimeoutMs?: number;
  /** How long consumer lag and dead-letter counts are reused between scrapes (default 5 000). */
  readonly statsCacheMs?: number;
}

/**
 * The distributed bus (@platformatic/kafka), one facade over its parts: the producer (kafka-producer), one consumer
 * group member per subscription, shared by a service's consumers (kafka-subscription), topic administration and offsets (kafka-topic-admin), dead
 * letters (kafka-dead-letters). Publishing: every envelope validated first (or its outbox JSON sent as written),
 * key = envelope key (ordering), value = the serialized envelope, headers `type`, `version`, `correlation-id`, `traceparent`; acknowledged by all in-sync
 * replicas. Consuming: manual commits only after the handler resolved (its transaction committed) or the event was
 * dead-lettered, one partition strictly in order, partitions in parallel.
 */
export class KafkaEventBus implements EventBus, DeadLetterAdmin {
  readonly transport = 'kafka' as const;
  private readonly logger: Logger;
  private readonly metrics: BusMetrics;
  private readonly connection: KafkaConnection;
  private readonly tuning: Required<KafkaConsumerTuning>;
  private readonly producer: KafkaBusProducer;
  private readonly admin: KafkaTopicAdmin;
  private readonly brokers: BrokerProbe;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly publishing = new Set<Promise<unknown>>();
  private closing?: Promise<void>;
  private statsCache?: { readonly at: number; readonly stats: Promise<BusStats> };

  constructor(private readonly options: KafkaEventBusOptions) {
    this.logger = options.logger.child({ component: 'kafka-bus' });
    this.metrics = new BusMetrics(options.metrics, 'kafka');
    resolveRetryPolicy(options.retry);
    this.tuning = {
      sessionTimeoutMs: options.consumer?.sessionTimeoutMs ?? 30_000,
      heartbeatIntervalMs: options.consumer?.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeoutMs: options.consumer?.rebalanceTimeoutMs ?? 60_000,
      maxWaitTimeMs: options.consumer?.maxWaitTimeMs ?? 1_000,
      partitionsConsumedConcurrently: options.consumer?.partitionsConsumedConcurrently ?? 4,
      joinTimeoutMs: options.consumer?.joinTimeoutMs ?? 60_000,
    };
    this.connection = {
      brokers: options.brokers,
      clientId: options.clientId,
      ssl: options.ssl,
      sasl: options.sasl,
      connectTimeoutMs: options.connectionTimeoutMs ?? 3_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    };
    this.producer = new KafkaBusProducer(this.connection, options.idempotent ?? true, this.logger);
    this.admin = new KafkaTopicAdmin(this.connection, this.logger, options.topicReadyTimeoutMs ?? 30_000);
    // A metadata request answered by a broker, not a connection flag (readiness stayed 200 for 55 s+ with Kafka
    // down when it trusted the client's "connected").
    this.brokers = new BrokerProbe(() => this.admin.probe(), {
      intervalMs: options.healthProbeIntervalMs ?? 3_000,
      timeoutMs: options.healthProbeTimeoutMs ?? 3_000,
    });
  }

  /** Starts the producer (publish and subscribe also do it on first use); call at boot so health reflects it. */
  async connect(): Promise<void> {
    this.assertOpen();
    await this.producer.connect();
    this.brokers.start();
  }

  async publish(events: readonly OutgoingEvent[]): Promise<void> {
    this.assertOpen();
    // Validate everything first: one invalid event rejects the whole batch and nothing is sent (an outbox's JSON is
    // sent as it is: consumers validate every record).
    const records: ProducerRecord[] = outgoingRecords(this.options.catalog, events, false).map(
      ({ topic, record }) => ({ topic, key: record.key, value: record.value, headers: record.headers ?? {} }),
    );
    if (records.length === 0) return;
    await this.track(() => this.producer.send(records));
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.topic, (counts.get(r.topic) ?? 0) + 1);
    for (const [topic, count] of counts) this.metrics.published(topic, count);
  }

  /** Sends records as they are, without validation (dead-letter replay, tools, tests of what foreign producers do). */
  async publishRaw(topic: string, records: readonly RawRecord[]): Promise<void> {
    this.assertOpen();
    await this.track(() =>
      this.producer.send(
        records.map((r) => ({ topic, key: r.key, value: r.value, headers: { ...r.headers } })),
      ),
    );
  }

  subscribe(spec: SubscriptionSpec): Promise<Subscription> {
    return this.subscribeShared({ groupId: spec.groupId, consumers: [spec] });
  }

  /** One group member for all the consumers (one fetch loop and heartbeat instead of one each). */
  async subscribeShared(spec: SharedSubscriptionSpec): Promise<Subscription> {
    this.assertOpen();
    if (spec.consumers.length === 0) throw new Error(`subscription ${spec.groupId} has no consumer`);
    const names = new Set<string>();
    const members = spec.consumers.map((consumer) => {
      const topics = [...new Set(consumer.topics)];
      if (topics.length === 0) throw new Error(`subscription ${consumer.groupId} names no topic`);
      if (names.has(consumer.groupId)) throw new Error(`consumer ${consumer.groupId} is named twice`);
      names.add(consumer.groupId);
      return {
        spec: { ...consumer, topics },
        policy: resolveRetryPolicy(this.options.retry, consumer.retry),
      };
    });
    const sub = new KafkaSubscription(spec.groupId, members, {
      connection: this.connection,
      catalog: this.options.catalog,
      logger: this.logger,
      metrics: this.metrics,
      tuning: this.tuning,
      ensureTopics: (t) => this.admin.ensureTopics(t),
      writeDeadLetter: (record) => this.producer.send([record]),
      admin: this.admin,
    });
    this.subscriptions.add(sub);
    const stop = async () => {
      await sub.stop();
      this.subscriptions.delete(sub);
    };
    try {
      await this.producer.connect();
      this.brokers.start();
      await sub.start();
    } catch (error) {
      await stop();
      throw error;
    }
    return { stop };
  }

  async health(): Promise<BusHealth> {
    if (this.closing) return { ok: false, detail: 'closed' };
    const problems: string[] = [];
    const brokers = await this.brokers.status();
    if (!brokers.ok) problems.push(brokers.detail);
    const producer = this.producer.problem();
    if (producer) problems.push(`producer: ${producer}`);
    for (const sub of this.subscriptions) {
      if (sub.state === 'crashed')
        problems.push(`consumer ${sub.groupId} crashed: ${sub.lastError ?? 'unknown error'}`);
    }
    const consumers = [...this.subscriptions].map((s) => `${s.groupId}=${s.state}`).join(', ');
    return problems.length
      ? { ok: false, detail: problems.join('; ') }
      : { ok: true, detail: `brokers answer; producer ready; consumers: ${consumers || 'none'}` };
  }

  /**
   * Lag per group and topic (log end minus the group's committed offset, summed over partitions) and the size of
   * each subscribed topic's `<topic>.dlq`. Admin requests, so cached for `statsCacheMs` (default 5 s).
   */
  stats(): Promise<BusStats> {
    const now = Date.now();
    if (!this.statsCache || now - this.statsCache.at >= (this.options.statsCacheMs ?? 5_000)) {
      const stats = this.readStats();
      stats.catch(() => (this.statsCache = undefined));
      this.statsCache = { at: now, stats };
    }
    return this.statsCache.stats;
  }

  private async readStats(): Promise<BusStats> {
    const groups = new Map<string, Set<string>>();
    for (const sub of this.subscriptions) groups.set(sub.groupId, new Set(sub.topics));
    const topics = [...new Set([...groups.values()].flatMap((t) => [...t]))];
    if (topics.length === 0) return { consumerLag: [], deadLetters: [] };
    const dlqs = topics.map((t) => `${t}${DLQ_SUFFIX}`);
    await this.admin.ensureTopics(dlqs);
    const ends = await this.admin.ends([...topics, ...dlqs]);
    const consumerLag: ConsumerLag[] = [];
    for (const [groupId, groupTopics] of groups) {
      const sizes = new Map([...groupTopics].map((t) => [t, ends.get(t)?.high.length ?? 0]));
      const committed = await this.admin.committed(groupId, sizes);
      for (const topic of groupTopics) {
        const end = ends.get(topic);
        let lag = 0n;
        end?.high.forEach((high, partition) => {
          const offset = committed.get(topic)?.[partition] ?? -1n;
          // Nothing committed yet: the group reads from the beginning, so all that is kept is lag.
          const from = offset < 0n ? (end.low[partition] ?? 0n) : offset;
          if (high > from) lag += high - from;
        });
        consumerLag.push({ groupId, topic, lag: Number(lag) });
      }
    }
    const deadLetters = topics.map((topic) => {
      const end = ends.get(`${topic}${DLQ_SUFFIX}`);
      const count = (end?.high ?? []).reduce((sum, high, p) => sum + Number(high - (end?.low[p] ?? 0n)), 0);
      return { topic, count };
    });
    return { consumerLag, deadLetters };
  }

  /** Stops every consumer (in-flight handlers finish and commit first), then the producer. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.brokers.stop();
      await Promise.all([...this.subscriptions].map((s) => s.stop()));
      this.subscriptions.clear();
      await Promise.allSettled([...this.publishing]);
      await this.producer.close();
      await this.admin.close();
    })();
    return this.closing;
  }

  async listDeadLetters(topic: string, options: ListDeadLettersOptions = {}): Promise<ListedDeadLetter[]> {
    return (await this.readDeadLetters(topic, options.limit ?? 1_000)).map((d) => d.letter);
  }

  async replayDeadLetters(
    topic: string,
    select: (letter: ListedDeadLetter) => boolean = () => true,
  ): Promise<ListedDeadLetter[]> {
    const chosen = (await this.readDeadLetters(topic, Number.MAX_SAFE_INTEGER)).filter((d) =>
      select(d.letter),
    );
    if (chosen.length > 0) {
      await this.track(() =>
        this.producer.send(
          chosen.map((d) => ({
            topic,
            key: d.key,
            value: d.value,
            headers: replayHeaders(d.headers, d.letter.position),
          })),
        ),
      );
    }
    this.logger.info({ topic, count: chosen.length }, 'dead letters replayed');
    return chosen.map((d) => d.letter);
  }

  private readDeadLetters(topic: string, limit: number): Promise<StoredDeadLetter[]> {
    this.assertOpen();
    return readDeadLetterTopic(`${topic}${DLQ_SUFFIX}`, limit, {
      connection: this.connection,
      admin: this.admin,
      tuning: this.tuning,
      logger: this.logger,
    });
  }

  private assertOpen(): void {
    if (this.closing) throw new BusClosedError();
  }

  private async track<T>(work: () => Promise<T>): Promise<T> {
    const running = work();
    this.publishing.add(running);
    try {
      return await running;
    } finally {
      this.publishing.delete(running);
    }
  }
}
