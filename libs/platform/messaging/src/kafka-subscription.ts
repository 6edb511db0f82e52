import { EventCatalog } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { BusMetrics } from './bus-metrics';
import { abortableSleep, deliverRecord } from './event-delivery';
import {
  baseOptions,
  compatible,
  errorText,
  KafkaConnection,
  KafkaConsumer,
  kafkaLib,
  KafkaMessage,
  KafkaMessagesStream,
  withTimeout,
} from './kafka-client';
import {
  batchSizeOf,
  CarryOverAdmin,
  carryOver,
  ConsumerMember,
  deliverChunk,
  KafkaConsumerMember,
} from './kafka-consumer-members';
import { PartitionQueue, partitionQueueFor, receivedRecordOf, WorkerSlots } from './kafka-partition-queue';
import { checkGap, OffsetGap, OffsetGaps } from './kafka-offset-gaps';
import { writeDeadLetterPatiently } from './kafka-dead-letters';
import type { ProducerRecord } from './kafka-producer';

export type { PartitionQueue } from './kafka-partition-queue';
export type { KafkaConsumerMember } from './kafka-consumer-members';

/** Consumer timings. The defaults suit a real cluster; tests against the mock cluster lower them. */
export interface KafkaConsumerTuning {
  /** Default 30 000. The mock cluster waits up to the session timeout for members to rejoin during a rebalance. */
  readonly sessionTimeoutMs?: number;
  /** Default 3 000. Heartbeats run on their own timer, also while a handler works or waits to retry. */
  readonly heartbeatIntervalMs?: number;
  /** Default 60 000. */
  readonly rebalanceTimeoutMs?: number;
  /** Longest a fetch waits for new records (default 1 000). */
  readonly maxWaitTimeMs?: number;
  /** Partitions handled in parallel per topic of a consumer (default 4); one partition is always handled in order. */
  readonly partitionsConsumedConcurrently?: number;
  /** How long `subscribe` waits for the consumer to join its group (default 60 000). */
  readonly joinTimeoutMs?: number;
}

export type ConsumerState = 'joining' | 'running' | 'restarting' | 'crashed' | 'stopped';

export interface SubscriptionDeps {
  readonly connection: KafkaConnection;
  readonly catalog: EventCatalog;
  readonly logger: Logger;
  readonly metrics: BusMetrics;
  readonly tuning: Required<KafkaConsumerTuning>;
  readonly ensureTopics: (topics: readonly string[]) => Promise<void>;
  readonly writeDeadLetter: (record: ProducerRecord) => Promise<void>;
  /** Committed offsets and partition counts, for a shared group's carry-over (see `carryOver`). */
  readonly admin: CarryOverAdmin;
}

/** Records read ahead per topic of a consumer before the fetches pause (they resume at half). */
const MAX_QUEUED_PER_TOPIC = 1_000;

/**
 * One consumer group member, for one consumer or several sharing the group (SharedSubscriptionSpec). Records are
 * queued per partition and handled strictly in order within a partition, partitions in parallel (up to
 * `partitionsConsumedConcurrently` per topic); a chunk of a partition goes to each consumer of its topic at once (each
 * takes it in its own batch size), and the offset moves past a record only once every one of them handled it or
 * dead-lettered it. After a rebalance the partitions kept stay queued, the others are dropped (their new owner reads
 * them from the committed offset); a failed consumer is replaced by a new one, which reads from the committed offsets.
 * Records the log dropped before they were read (retention) are reported (OffsetGaps), never skipped silently.
 */
export class KafkaSubscription {
  state: ConsumerState = 'joining';
  lastError?: string;
  private consumer?: KafkaConsumer;
  private stream?: KafkaMessagesStream;
  private readonly abort = new AbortController();
  private readonly partitions = new Map<string, PartitionQueue>();
  private readonly workers = new Set<Promise<void>>();
  private queued = 0;
  private paused = false;
  private readonly gaps = new OffsetGaps((gap) => this.missed(gap));
  /** Per topic, so a topic whose partitions wait (retries, a slow provider) never holds another topic's. */
  private readonly slots = new Map<string, WorkerSlots>();
  private readonly members: readonly ConsumerMember[];
  private readonly readers = new Map<string, readonly ConsumerMember[]>();
  private readonly maxQueued: number;
  readonly topics: readonly string[];
  private restarting?: Promise<void>;
  /** Set from the coordinator's "rebalance" until the new assignment: no record starts meanwhile. */
  private rebalancing?: { readonly done: Promise<void>; readonly end: () => void };
  private stopping?: Promise<void>;

  constructor(
    readonly groupId: string,
    members: readonly KafkaConsumerMember[],
    private readonly deps: SubscriptionDeps,
  ) {
    this.members = members.map((m) => ({ ...m, topics: new Set(m.spec.topics), floors: new Map() }));
    this.topics = [...new Set(members.flatMap((m) => m.spec.topics))];
    for (const topic of this.topics) {
      this.slots.set(topic, new WorkerSlots(deps.tuning.partitionsConsumedConcurrently));
      this.readers.set(
        topic,
        this.members.filter((m) => m.topics.has(topic)),
      );
      // Listed at 0 from the start: an alert on its increase must see the first loss.
      for (const m of this.readers.get(topic) ?? []) deps.metrics.lost(topic, m.spec.groupId, 0);
    }
    this.maxQueued = MAX_QUEUED_PER_TOPIC * this.topics.length;
  }

  async start(): Promise<void> {
    await this.deps.ensureTopics(this.topics);
    const { admin, logger } = this.deps;
    await carryOver(this.groupId, this.members, { admin, logger, signal: this.abort.signal });
    await this.connect();
    this.deps.logger.info({ groupId: this.groupId, topics: this.topics }, 'subscribed');
  }

  /** Stops fetching; the records being handled finish and commit, nothing after them starts. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      this.endRebalance();
      this.stream?.pause();
      await this.restarting?.catch(() => undefined);
      await Promise.allSettled([...this.workers]);
      await this.closeConsumer();
      this.state = 'stopped';
      this.deps.logger.info({ groupId: this.groupId, topics: this.topics }, 'unsubscribed');
    })();
    return this.stopping;
  }

  private async connect(): Promise<void> {
    const { tuning } = this.deps;
    this.gaps.reset(); // a new member: every partition it is assigned is new to it
    const consumer = compatible(
      new kafkaLib.Consumer<Buffer, Buffer, Buffer, Buffer>({
        ...baseOptions(this.deps.connection),
        groupId: this.groupId,
        sessionTimeout: tuning.sessionTimeoutMs,
        heartbeatInterval: tuning.heartbeatIntervalMs,
        rebalanceTimeout: tuning.rebalanceTimeoutMs,
        maxWaitTime: tuning.maxWaitTimeMs,
        autocommit: false,
      }),
    );
    consumer.on('error', (error: unknown) =>
      this.deps.logger.warn({ err: error, groupId: this.groupId }, 'kafka consumer error'),
    );
    consumer.on('consumer:group:join', (payload) => this.onJoin(consumer, payload.assignments ?? []));
    // A member that keeps handling a partition it is about to lose races its next owner (which starts from the
    // committed offset): the records of one key could then be handled out of order. Hold new records until the join.
    consumer.on('consumer:group:rebalance', () => {
      if (consumer !== this.consumer || this.rebalancing) return;
      let end: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (end = resolve));
      this.rebalancing = { done, end };
    });
    this.consumer = consumer;
    let stream: KafkaMessagesStream;
    try {
      stream = await withTimeout(
        consumer.consume({
          topics: [...this.topics],
          mode: kafkaLib.MessagesStreamModes.COMMITTED,
          fallbackMode: kafkaLib.MessagesStreamFallbackModes.EARLIEST,
          autocommit: false,
          maxWaitTime: tuning.maxWaitTimeMs,
        }),
        tuning.joinTimeoutMs,
        `consumer ${this.groupId} did not join its group`,
      );
    } catch (error) {
      await consumer.close(true).catch(() => undefined);
      throw error;
    }
    this.stream = stream;
    stream.on('data', (message: KafkaMessage) => {
      if (stream === this.stream) this.enqueue(message);
    });
    stream.on('error', (error: Error) => this.failed(stream, error));
    stream.on('close', () => this.failed(stream, new Error('the message stream closed')));
    this.state = 'running';
    this.lastError = undefined;
  }

  private onJoin(
    consumer: KafkaConsumer,
    assignments: ReadonlyArray<{ topic: string; partitions: number[] }>,
  ) {
    if (consumer !== this.consumer) return;
    this.endRebalance();
    const kept = new Set(assignments.flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)));
    for (const [key, queue] of this.partitions) {
      if (kept.has(key)) continue;
      this.revoke(queue);
      this.partitions.delete(key);
    }
    this.gaps.joined(consumer, assignments, (err) => this.deps.logger.warn({ err }, 'no committed offsets'));
    this.deps.logger.info(
      { groupId: this.groupId, generationId: consumer.generationId, assignments },
      'consumer joined',
    );
  }

  private endRebalance(): void {
    this.rebalancing?.end();
    this.rebalancing = undefined;
  }

  private revoke(queue: PartitionQueue): void {
    queue.revoked = true;
    this.queued -= queue.items.length;
    queue.items.length = 0;
    this.resumeIfDrained();
  }

  private enqueue(message: KafkaMessage): void {
    if (this.abort.signal.aborted) return;
    const key = `${message.topic}:${message.partition}`;
    let queue = this.partitions.get(key);
    if (!queue) {
      queue = partitionQueueFor(message);
      this.partitions.set(key, queue);
    }
    if (message.offset <= queue.highest) return;
    queue.highest = message.offset;
    this.gaps.received(message.topic, message.partition, message.offset);
    queue.items.push(message);
    if (++this.queued >= this.maxQueued && !this.paused) {
      this.paused = true;
      this.stream?.pause();
    }
    this.schedule(queue);
  }

  /** A jump in the offsets read: a loss where the log no longer has the records (checkGap). */
  private missed(gap: OffsetGap): void {
    const floor = (m: ConsumerMember) => m.floors.get(`${gap.topic}:${gap.partition}`) ?? -1n;
    const readers = (this.readers.get(gap.topic) ?? []).map((m) => ({
      group: m.spec.groupId,
      floor: floor(m),
    }));
    void checkGap(gap, { groupId: this.groupId, readers }, this.deps);
  }

  private resumeIfDrained(): void {
    if (this.paused && this.queued <= this.maxQueued / 2 && !this.abort.signal.aborted) {
      this.paused = false;
      this.stream?.resume();
    }
  }

  private schedule(queue: PartitionQueue): void {
    if (queue.running || queue.items.length === 0 || queue.revoked || this.abort.signal.aborted) return;
    queue.running = true;
    const worker = this.drain(queue)
      .catch((error: unknown) =>
        this.deps.logger.error({ err: error, groupId: this.groupId }, 'partition worker failed'),
      )
      .finally(() => {
        queue.running = false;
        this.workers.delete(worker);
        this.schedule(queue);
      });
    this.workers.add(worker);
  }

  private async drain(queue: PartitionQueue): Promise<void> {
    const slots = this.slots.get(queue.topic) as WorkerSlots;
    const members = this.readers.get(queue.topic) ?? [];
    const size = Math.max(1, ...members.map(batchSizeOf));
    while (queue.items.length > 0 && !queue.revoked && !this.abort.signal.aborted) {
      while (this.rebalancing && !this.abort.signal.aborted) await this.rebalancing.done;
      if (queue.revoked || this.abort.signal.aborted) return;
      await slots.acquire();
      try {
        const chunk = queue.items.splice(0, size);
        this.queued -= chunk.length;
        this.resumeIfDrained();
        const delivered = await deliverChunk(queue, chunk, members, {
          catalog: this.deps.catalog,
          logger: this.deps.logger,
          metrics: this.deps.metrics,
          mayStart: () => this.mayStart(queue),
          handleOne: (member, message) => this.handleOne(member, queue, message),
          commit: (message) => this.commit(queue, message),
          failed: (error) => {
            if (this.stream) this.failed(this.stream, error as Error);
          },
        });
        if (!delivered) return;
      } finally {
        slots.release();
      }
    }
  }

  /** Waits out a rebalance (no record starts before the new assignment); false when the record must not start. */
  private async mayStart(queue: PartitionQueue): Promise<boolean> {
    while (this.rebalancing && !this.abort.signal.aborted) await this.rebalancing.done;
    return !(queue.revoked || this.abort.signal.aborted);
  }

  /** False when the subscription stopped before the record was settled (it will be delivered again). */
  private async handleOne(member: ConsumerMember, queue: PartitionQueue, message: KafkaMessage) {
    if (!(await this.mayStart(queue))) return false;
    const outcome = await deliverRecord(receivedRecordOf(message), {
      catalog: this.deps.catalog,
      groupId: member.spec.groupId,
      handler: member.spec.handler,
      policy: member.policy,
      logger: this.deps.logger,
      metrics: this.deps.metrics,
      signal: this.abort.signal,
    });
    if (outcome.status === 'aborted') return false;
    if (outcome.status === 'dead-lettered') {
      const { logger, writeDeadLetter } = this.deps;
      const deps = { logger, signal: this.abort.signal };
      if (!(await writeDeadLetterPatiently(message, outcome.headers, writeDeadLetter, deps))) return false;
    }
    return true;
  }

  /** Commits past `message`. A member that lost the partition does not commit (the new owner's offset stands). */
  private async commit(queue: PartitionQueue, message: KafkaMessage): Promise<void> {
    const consumer = this.consumer;
    if (queue.revoked || !consumer) return;
    try {
      await consumer.commit({
        offsets: [
          {
            topic: message.topic,
            partition: message.partition,
            offset: message.offset + 1n,
            leaderEpoch: message.leaderEpoch ?? -1,
          },
        ],
      });
    } catch (error) {
      // A rebalance is under way: the consumer rejoins by itself and the record comes again to its owner.
      this.deps.logger.warn(
        { err: error, groupId: this.groupId, topic: message.topic, partition: message.partition },
        'offset commit failed; the event will be delivered again',
      );
    }
  }

  /** The stream failed: a new consumer replaces this one, after the records being handled settled. */
  private failed(stream: KafkaMessagesStream, error: Error): void {
    if (stream !== this.stream || this.abort.signal.aborted || this.restarting) return;
    this.stream = undefined;
    this.endRebalance();
    this.lastError = errorText(error);
    this.state = 'restarting';
    this.deps.logger.error({ err: error, groupId: this.groupId }, 'kafka consumer failed; restarting it');
    this.restarting = (async () => {
      for (const queue of this.partitions.values()) this.revoke(queue);
      this.partitions.clear();
      await Promise.allSettled([...this.workers]);
      await this.closeConsumer();
      for (let attempt = 1; !this.abort.signal.aborted; attempt++) {
        try {
          await this.connect();
          this.deps.logger.info({ groupId: this.groupId, attempt }, 'kafka consumer restarted');
          return;
        } catch (restartError) {
          this.lastError = errorText(restartError);
          if (attempt >= 5) this.state = 'crashed';
          this.deps.logger.error(
            { err: restartError, groupId: this.groupId, attempt },
            'consumer restart failed',
          );
          await abortableSleep(Math.min(30_000, 1_000 * 2 ** attempt), this.abort.signal);
        }
      }
    })().finally(() => {
      this.restarting = undefined;
    });
  }

  private async closeConsumer(): Promise<void> {
    const consumer = this.consumer;
    this.stream = undefined;
    this.paused = false;
    if (!consumer) return;
    await withTimeout(consumer.close(true), 10_000, 'consumer close').catch((error: unknown) =>
      this.deps.logger.warn({ err: error, groupId: this.groupId }, 'consumer did not close cleanly'),
    );
  }
}
