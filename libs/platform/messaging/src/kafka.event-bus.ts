import { randomUUID } from 'node:crypto';
import { DLQ_SUFFIX, EventCatalog, EventEnvelope } from '@mailbridge/contracts';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  Kafka,
  KafkaConfig,
  Message,
  Partitioners,
  Producer,
} from 'kafkajs';
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
  DeadLetter,
  DeadLetterHeaders,
  EventBus,
  OutgoingEvent,
  RetryPolicy,
  Subscription,
  SubscriptionSpec,
} from './event-bus.port';
import {
  abortableSleep,
  DEFAULT_MAX_BATCH,
  deliverRecord,
  ReceivedRecord,
  resolveRetryPolicy,
} from './event-delivery';
import { kafkaLogCreator, kafkaLogLevelFor } from './kafka-log-creator';

/** Consumer timings. The defaults suit a real cluster; tests against the mock cluster lower them. */
export interface KafkaConsumerTuning {
  /** Default 30 000. The mock cluster waits `sessionTimeout - 1 s` for members to rejoin during a rebalance. */
  readonly sessionTimeoutMs?: number;
  /** Default 3 000; also how often a handler waiting to retry heartbeats. */
  readonly heartbeatIntervalMs?: number;
  /** Default 60 000. */
  readonly rebalanceTimeoutMs?: number;
  /** Longest a fetch waits for new records (default 1 000). */
  readonly maxWaitTimeMs?: number;
  /** Partitions handled in parallel per consumer (default 4); one partition is always handled in order. */
  readonly partitionsConsumedConcurrently?: number;
  /** How long `subscribe` waits for the consumer to join its group (default 60 000). */
  readonly joinTimeoutMs?: number;
}

export interface KafkaEventBusOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly catalog: EventCatalog;
  readonly logger: Logger;
  readonly metrics?: ServiceMetrics;
  /** Defaults for every subscription (a subscription's own `retry` wins). */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Idempotent producer (default true): broker-side deduplication of producer retries, no reordering.
   * It needs a cluster whose metadata names a live controller broker (kafkajs asks it for a producer id);
   * librdkafka's mock cluster (kcat 1.7 / librdkafka 2.0) reports controller 0, which is no broker, so tests
   * against it pass `false`. `connect()` says so clearly instead of failing deep inside kafkajs.
   */
  readonly idempotent?: boolean;
  readonly ssl?: KafkaConfig['ssl'];
  readonly sasl?: KafkaConfig['sasl'];
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

type ConsumerState = 'joining' | 'running' | 'restarting' | 'crashed' | 'stopped';

interface ActiveSubscription {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly consumer: Consumer;
  readonly abort: AbortController;
  state: ConsumerState;
  lastError?: string;
  stop(): Promise<void>;
}

/** What replay needs beyond the listed letter: the record's own bytes and headers. */
interface StoredDeadLetter {
  readonly letter: ListedDeadLetter;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/**
 * The distributed bus (kafkajs). Publishing: every envelope validated first, key = envelope key (ordering),
 * value = the serialized envelope, headers `type`, `version`, `correlation-id`; acknowledged by all in-sync
 * replicas. Consuming: one consumer per subscription, manual commits only after the handler resolved (its
 * transaction committed) or the event was dead-lettered, one partition strictly in order, partitions in parallel.
 */
export class KafkaEventBus implements EventBus, DeadLetterAdmin {
  readonly transport = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly logger: Logger;
  private readonly metrics: BusMetrics;
  private readonly idempotent: boolean;
  private readonly tuning: Required<KafkaConsumerTuning>;
  private readonly subscriptions = new Set<ActiveSubscription>();
  private readonly readyTopics = new Set<string>();
  private readonly publishing = new Set<Promise<unknown>>();
  private producerReady?: Promise<void>;
  private adminReady?: Promise<void>;
  private producerConnected = false;
  private closing?: Promise<void>;
  private readonly brokers: BrokerProbe;
  private statsCache?: { readonly at: number; readonly stats: Promise<BusStats> };

  constructor(private readonly options: KafkaEventBusOptions) {
    this.logger = options.logger.child({ component: 'kafka-bus' });
    this.metrics = new BusMetrics(options.metrics, 'kafka');
    this.idempotent = options.idempotent ?? true;
    resolveRetryPolicy(options.retry);
    this.tuning = {
      sessionTimeoutMs: options.consumer?.sessionTimeoutMs ?? 30_000,
      heartbeatIntervalMs: options.consumer?.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeoutMs: options.consumer?.rebalanceTimeoutMs ?? 60_000,
      maxWaitTimeMs: options.consumer?.maxWaitTimeMs ?? 1_000,
      partitionsConsumedConcurrently: options.consumer?.partitionsConsumedConcurrently ?? 4,
      joinTimeoutMs: options.consumer?.joinTimeoutMs ?? 60_000,
    };
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      ssl: options.ssl,
      sasl: options.sasl,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      logLevel: kafkaLogLevelFor(options.logger),
      logCreator: kafkaLogCreator(options.logger),
    });
    this.producer = this.kafka.producer({
      idempotent: this.idempotent,
      // One request in flight per broker keeps per-key order through retries, idempotent or not.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.producer.on(this.producer.events.CONNECT, () => (this.producerConnected = true));
    this.producer.on(this.producer.events.DISCONNECT, () => (this.producerConnected = false));
    // Few retries: createTopics fails fast where it is not supported, and topic readiness has its own loop.
    this.admin = this.kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } });
    // A metadata request answered by a broker, not a connection flag: kafkajs keeps "connected" while the brokers
    // are gone (readiness stayed 200 for 55 s+ with Kafka down).
    this.brokers = new BrokerProbe(
      async () => {
        await this.connectAdmin();
        await this.admin.describeCluster();
      },
      {
        intervalMs: options.healthProbeIntervalMs ?? 3_000,
        timeoutMs: options.healthProbeTimeoutMs ?? 3_000,
      },
    );
  }

  /** Connects the producer (publish and subscribe also do it on first use); call at boot so health reflects it. */
  async connect(): Promise<void> {
    this.assertOpen();
    this.producerReady ??= (async () => {
      if (this.idempotent) await this.checkIdempotenceSupport();
      await this.producer.connect();
    })().catch((error: unknown) => {
      this.producerReady = undefined;
      throw error;
    });
    await this.producerReady;
  }

  async publish(events: readonly OutgoingEvent[]): Promise<void> {
    this.assertOpen();
    // Validate everything first: one invalid event rejects the whole batch and nothing is sent.
    const byTopic = new Map<string, Message[]>();
    for (const { topic, envelope } of events) {
      const parsed = this.options.catalog.parse(envelope, topic);
      const headers: Record<string, string> = { type: parsed.type, version: String(parsed.version) };
      if (parsed.correlationId) headers['correlation-id'] = parsed.correlationId;
      if (parsed.traceparent) headers.traceparent = parsed.traceparent;
      const messages = byTopic.get(topic) ?? [];
      messages.push({ key: parsed.key, value: this.options.catalog.serialize(parsed), headers });
      byTopic.set(topic, messages);
    }
    if (byTopic.size === 0) return;
    await this.track(async () => {
      await this.connect();
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    });
    for (const [topic, messages] of byTopic) this.metrics.published(topic, messages.length);
  }

  /** Sends records as they are, without validation (dead-letter replay, tools, tests of what foreign producers do). */
  async publishRaw(topic: string, records: readonly RawRecord[]): Promise<void> {
    this.assertOpen();
    if (records.length === 0) return;
    await this.track(async () => {
      await this.connect();
      await this.producer.send({
        topic,
        acks: -1,
        messages: records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } })),
      });
    });
  }

  async subscribe(spec: SubscriptionSpec): Promise<Subscription> {
    this.assertOpen();
    if (spec.topics.length === 0) throw new Error(`Subscription ${spec.groupId} names no topic`);
    const policy = resolveRetryPolicy(this.options.retry, spec.retry);
    const topics = [...new Set(spec.topics)];
    await this.connect();
    await this.ensureTopics([...topics, ...topics.map((t) => `${t}${DLQ_SUFFIX}`)]);

    const { tuning } = this;
    const consumer = this.kafka.consumer({
      groupId: spec.groupId,
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      maxWaitTimeInMs: tuning.maxWaitTimeMs,
      allowAutoTopicCreation: true,
      // kafkajs restarts a crashed consumer on retriable errors; never once we are stopping.
      retry: { restartOnFailure: async () => !sub.abort.signal.aborted },
    });
    const abort = new AbortController();
    let stopping: Promise<void> | undefined;
    const sub: ActiveSubscription = {
      groupId: spec.groupId,
      topics,
      consumer,
      abort,
      state: 'joining',
      stop: () =>
        (stopping ??= (async () => {
          abort.abort();
          // kafkajs waits for the message being handled: it finishes and commits, nothing after it starts.
          await consumer
            .disconnect()
            .catch((error: unknown) =>
              this.logger.warn({ err: error, groupId: spec.groupId }, 'consumer did not disconnect cleanly'),
            );
          sub.state = 'stopped';
          this.subscriptions.delete(sub);
          this.logger.info({ groupId: spec.groupId, topics }, 'unsubscribed');
        })()),
    };
    this.subscriptions.add(sub);

    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        sub.state = 'running';
        this.logger.info(
          { groupId: spec.groupId, assignment: event.payload.memberAssignment },
          'consumer joined',
        );
        resolve();
      });
      consumer.on(consumer.events.CRASH, (event) => {
        sub.lastError = event.payload.error.message;
        sub.state = event.payload.restart ? 'restarting' : 'crashed';
        this.logger.error(
          { err: event.payload.error, groupId: spec.groupId, restart: event.payload.restart },
          'consumer crashed',
        );
        if (!event.payload.restart) reject(event.payload.error);
      });
    });
    joined.catch(() => undefined); // a crash after a join timeout must not surface as an unhandled rejection

    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently,
        eachBatch: (payload) => this.handleBatch(payload, spec, policy, abort.signal),
      });
      await this.withTimeout(joined, tuning.joinTimeoutMs, `consumer ${spec.groupId} did not join its group`);
    } catch (error) {
      await sub.stop();
      throw error;
    }
    this.logger.info({ groupId: spec.groupId, topics }, 'subscribed');
    return { stop: () => sub.stop() };
  }

  async health(): Promise<BusHealth> {
    if (this.closing) return { ok: false, detail: 'closed' };
    const problems: string[] = [];
    const brokers = await this.brokers.status();
    if (!brokers.ok) problems.push(brokers.detail);
    if (!this.producerConnected) problems.push('producer not connected');
    for (const sub of this.subscriptions) {
      if (sub.state === 'crashed')
        problems.push(`consumer ${sub.groupId} crashed: ${sub.lastError ?? 'unknown error'}`);
    }
    const consumers = [...this.subscriptions].map((s) => `${s.groupId}=${s.state}`).join(', ');
    return problems.length
      ? { ok: false, detail: problems.join('; ') }
      : { ok: true, detail: `brokers answer; producer connected; consumers: ${consumers || 'none'}` };
  }

  /**
   * Lag per group and topic (high watermark minus the group's committed offset, summed over partitions) and the size
   * of each subscribed topic's `<topic>.dlq`. Admin requests, so cached for `statsCacheMs` (default 5 s).
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
    await this.connectAdmin();
    const groups = new Map<string, Set<string>>();
    for (const sub of this.subscriptions) groups.set(sub.groupId, new Set(sub.topics));
    const topics = [...new Set([...groups.values()].flatMap((t) => [...t]))];
    const ends = new Map<string, Array<{ partition: number; high: string; low: string }>>();
    for (const topic of [...topics, ...topics.map((t) => `${t}${DLQ_SUFFIX}`)])
      ends.set(topic, await this.admin.fetchTopicOffsets(topic));
    const consumerLag: ConsumerLag[] = [];
    for (const [groupId, groupTopics] of groups) {
      const committed = await this.admin.fetchOffsets({ groupId, topics: [...groupTopics] });
      for (const { topic, partitions } of committed) {
        let lag = 0n;
        for (const end of ends.get(topic) ?? []) {
          const offset = partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
          // Nothing committed yet: the group reads from the beginning (fromBeginning), so all that is kept is lag.
          const from = BigInt(offset) < 0n ? BigInt(end.low) : BigInt(offset);
          if (BigInt(end.high) > from) lag += BigInt(end.high) - from;
        }
        consumerLag.push({ groupId, topic, lag: Number(lag) });
      }
    }
    const deadLetters = topics.map((topic) => ({
      topic,
      count: (ends.get(`${topic}${DLQ_SUFFIX}`) ?? []).reduce(
        (sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)),
        0,
      ),
    }));
    return { consumerLag, deadLetters };
  }

  /** Stops every consumer (in-flight handlers finish and commit first), then the producer. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.brokers.stop();
      await Promise.all([...this.subscriptions].map((s) => s.stop()));
      await Promise.allSettled([...this.publishing]);
      await this.producer.disconnect().catch(() => undefined);
      await this.admin.disconnect().catch(() => undefined);
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
      await this.track(async () => {
        await this.connect();
        await this.producer.send({
          topic,
          acks: -1,
          messages: chosen.map((d) => ({
            key: d.key,
            value: d.value,
            headers: replayHeaders(d.headers, d.letter.position),
          })),
        });
      });
    }
    this.logger.info({ topic, count: chosen.length }, 'dead letters replayed');
    return chosen.map((d) => d.letter);
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

  /**
   * Handles a partition's fetched batch: through the subscription's batch handler when it has one (the valid records
   * in chunks of its maximum, committed after each chunk resolves; a rejected chunk goes one record at a time),
   * otherwise one record at a time. eachBatch rather than eachMessage: kafkajs resolves an
   * eachMessage record even when the handler gave up (stopping), and its `consumer.commitOffsets` silently skips the
   * commit once the consumer is stopping, which would drop the commit of the handler that was allowed to finish.
   */
  private async handleBatch(
    { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload,
    spec: SubscriptionSpec,
    policy: RetryPolicy,
    signal: AbortSignal,
  ): Promise<void> {
    const { topic, partition } = batch;
    const commit = (offset: string) =>
      commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: nextOffset(offset) }] }],
      });
    // Messages before this index failed as a batch: they go one at a time (the batch contract's fall-back).
    let singlesUntil = -1;
    for (let i = 0; i < batch.messages.length; i++) {
      const message = batch.messages[i];
      // Stopping, or the partition moved (rebalance, seek): leave the rest unresolved, it is fetched again.
      if (signal.aborted || !isRunning() || isStale()) return;
      if (spec.batch && i >= singlesUntil) {
        const chunk = this.validRun(batch.messages, i, spec.batch.maxEvents ?? DEFAULT_MAX_BATCH, topic);
        if (chunk.length > 0) {
          const last = batch.messages[i + chunk.length - 1].offset;
          if (
            await this.runBatch(spec, chunk, { topic, partition, first: message.offset, last }, heartbeat)
          ) {
            // Committed like a single event: even while stopping; a member that lost the partition gets an error.
            await commit(last);
            resolveOffset(last);
            if (!signal.aborted) await heartbeat();
            i += chunk.length - 1;
            continue;
          }
          singlesUntil = i + chunk.length;
        }
      }
      const record: ReceivedRecord = {
        topic,
        partition,
        offset: message.offset,
        key: message.key?.toString('utf8') ?? null,
        value: message.value?.toString('utf8') ?? null,
        headers: decodeHeaders(message.headers),
      };
      const outcome = await deliverRecord(record, {
        catalog: this.options.catalog,
        groupId: spec.groupId,
        handler: spec.handler,
        policy,
        logger: this.logger,
        metrics: this.metrics,
        signal,
        keepAlive: heartbeat,
        keepAliveIntervalMs: this.tuning.heartbeatIntervalMs,
      });
      if (outcome.status === 'aborted') return;
      if (outcome.status === 'dead-lettered') {
        // The letter is on the dead-letter topic before the offset moves; if this throws, kafkajs restarts the
        // consumer and the event comes again.
        await this.producer.send({
          topic: `${topic}${DLQ_SUFFIX}`,
          acks: -1,
          messages: [{ key: message.key, value: message.value, headers: outcome.headers }],
        });
      }
      // Committed even while stopping (this path does not check isRunning); a member that lost the partition
      // gets an error here and the new owner handles the event again.
      await commit(message.offset);
      resolveOffset(message.offset);
      if (!signal.aborted) await heartbeat();
    }
  }

  /** The envelopes of the valid messages from `from` on, at most `max`; the first invalid one ends the run. */
  private validRun(
    messages: EachBatchPayload['batch']['messages'],
    from: number,
    max: number,
    topic: string,
  ) {
    const run: EventEnvelope[] = [];
    for (let i = from; i < messages.length && run.length < max; i++) {
      try {
        run.push(this.options.catalog.deserialize(messages[i].value?.toString('utf8') ?? null, topic));
      } catch {
        break; // the single path dead-letters it
      }
    }
    return run;
  }

  /**
   * Runs the subscription's batch handler, heartbeating meanwhile so a long batch keeps the partition. True when it
   * resolved; false when it rejected (logged; the caller delivers the same events one at a time).
   */
  private async runBatch(
    spec: SubscriptionSpec,
    events: readonly EventEnvelope[],
    at: { topic: string; partition: number; first: string; last: string },
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    const started = process.hrtime.bigint();
    // A failed heartbeat (rebalance) is not the handler's failure: the commit after it fails and the batch comes again.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), this.tuning.heartbeatIntervalMs);
    try {
      await spec.batch?.handler(events, {
        topic: at.topic,
        groupId: spec.groupId,
        partition: at.partition,
        firstOffset: at.first,
        lastOffset: at.last,
      });
    } catch (error) {
      this.logger.warn(
        {
          err: error,
          groupId: spec.groupId,
          topic: at.topic,
          partition: at.partition,
          events: events.length,
        },
        'event batch failed; delivering its events one at a time',
      );
      return false;
    } finally {
      clearInterval(beat);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9 / events.length;
    for (let i = 0; i < events.length; i++) this.metrics.consumed(at.topic, spec.groupId, seconds);
    return true;
  }

  private async checkIdempotenceSupport(): Promise<void> {
    await this.connectAdmin();
    const { brokers, controller } = await this.admin.describeCluster();
    if (controller === null || !brokers.some((b) => b.nodeId === controller)) {
      throw new Error(
        `The idempotent producer cannot start: the cluster reports controller ${controller}, which is not one of its ` +
          `brokers (${brokers.map((b) => b.nodeId).join(', ')}), and kafkajs asks the controller for a producer id. ` +
          `librdkafka's mock cluster does this; set idempotent: false for it.`,
      );
    }
  }

  private connectAdmin(): Promise<void> {
    this.adminReady ??= this.admin.connect().catch((error: unknown) => {
      this.adminReady = undefined;
      throw error;
    });
    return this.adminReady;
  }

  /**
   * Makes sure topics exist with leaders before a consumer subscribes (a first subscribe otherwise races the
   * auto-creation: UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE). createTopics is tried first and may fail:
   * brokers without the admin API (the mock cluster) or without the right ACL rely on auto-creation.
   */
  private async ensureTopics(topics: readonly string[]): Promise<void> {
    const missing = topics.filter((t) => !this.readyTopics.has(t));
    if (missing.length === 0) return;
    await this.connectAdmin();
    try {
      await this.admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
    } catch (error) {
      this.logger.debug(
        { err: error, topics: missing },
        'createTopics failed; relying on topic auto-creation',
      );
    }
    const deadline = Date.now() + (this.options.topicReadyTimeoutMs ?? 30_000);
    for (;;) {
      try {
        const { topics: found } = await this.admin.fetchTopicMetadata({ topics: missing });
        const ready = found.filter(
          (t) =>
            t.partitions.length > 0 && t.partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0),
        );
        for (const t of ready) this.readyTopics.add(t.name);
        if (ready.length === missing.length) return;
      } catch (error) {
        if (Date.now() >= deadline) {
          throw new Error(`Topics ${missing.join(', ')} are not available: ${(error as Error).message}`);
        }
      }
      if (Date.now() >= deadline) throw new Error(`Topics ${missing.join(', ')} have no leader yet`);
      await abortableSleep(100, new AbortController().signal);
    }
  }

  /** Reads `<topic>.dlq` from its start to its current end with a throwaway group that never commits. */
  private async readDeadLetters(topic: string, limit: number): Promise<StoredDeadLetter[]> {
    this.assertOpen();
    const dlq = `${topic}${DLQ_SUFFIX}`;
    await this.ensureTopics([dlq]);
    const ends = (await this.admin.fetchTopicOffsets(dlq)).filter((p) => BigInt(p.high) > BigInt(p.low));
    if (ends.length === 0) return [];
    const remaining = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));

    const found: StoredDeadLetter[] = [];
    const reader = this.kafka.consumer({
      groupId: `${this.options.clientId}.dead-letter-reader.${randomUUID()}`,
      sessionTimeout: this.tuning.sessionTimeoutMs,
      heartbeatInterval: this.tuning.heartbeatIntervalMs,
      rebalanceTimeout: this.tuning.rebalanceTimeoutMs,
      maxWaitTimeInMs: this.tuning.maxWaitTimeMs,
    });
    try {
      await reader.connect();
      await reader.subscribe({ topic: dlq, fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        void reader.run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const end = remaining.get(partition);
            if (end === undefined || BigInt(message.offset) >= end) return;
            const headers = decodeHeaders(message.headers);
            const dlqHeaders = Object.fromEntries(
              Object.values(DeadLetterHeaders).map((h) => [h, headers[h] ?? '']),
            ) as DeadLetter['headers'];
            found.push({
              letter: {
                topic: dlq,
                key: message.key?.toString('utf8') ?? null,
                value: message.value?.toString('utf8') ?? '',
                headers: dlqHeaders,
                position: `${partition}:${message.offset}`,
              },
              key: message.key,
              value: message.value,
              headers,
            });
            if (BigInt(message.offset) + 1n >= end) remaining.delete(partition);
            if (remaining.size === 0) resolve();
          },
        });
      });
      await this.withTimeout(done, this.tuning.joinTimeoutMs + 30_000, `could not read ${dlq} to its end`);
    } finally {
      await reader.disconnect().catch(() => undefined);
    }
    const failedAt = (d: StoredDeadLetter) => d.letter.headers[DeadLetterHeaders.failedAt];
    return found.sort((a, b) => failedAt(a).localeCompare(failedAt(b))).slice(0, limit);
  }

  private async withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
