import type { Logger } from '@mailbridge/platform-observability';
import { abortableSleep } from './event-delivery';
import {
  baseOptions,
  compatible,
  errorText,
  KafkaAdmin,
  KafkaConnection,
  KafkaConsumer,
  kafkaLib,
} from './kafka-client';

/** Earliest and latest offset of each partition of a topic (index = partition). */
export interface TopicEnds {
  readonly low: readonly bigint[];
  readonly high: readonly bigint[];
}

/**
 * Cluster-level requests: topic creation and readiness, metadata (the readiness probe), log ends and committed
 * offsets (consumer lag, dead-letter counts). An admin client plus a consumer that never joins a group (the
 * library's offset listing lives on the consumer).
 */
export class KafkaTopicAdmin {
  private readonly admin: KafkaAdmin;
  private readonly offsets: KafkaConsumer;
  private readonly readyTopics = new Set<string>();

  constructor(
    connection: KafkaConnection,
    private readonly logger: Logger,
    private readonly topicReadyTimeoutMs: number,
  ) {
    this.admin = compatible(new kafkaLib.Admin({ ...baseOptions(connection, 'admin'), retries: 1 }));
    this.offsets = compatible(
      new kafkaLib.Consumer<Buffer, Buffer, Buffer, Buffer>({
        ...baseOptions(connection, 'offsets'),
        groupId: `${connection.clientId}.offsets`,
        retries: 1,
      }),
    );
    for (const client of [this.admin, this.offsets])
      client.on('error', (error: unknown) => this.logger.debug({ err: error }, 'kafka admin client error'));
  }

  /** One metadata request answered by a broker (forced, never from the cache). */
  async probe(): Promise<void> {
    await this.admin.metadata({ topics: [], forceUpdate: true });
  }

  /**
   * Makes sure topics exist with a leader on every partition before a consumer subscribes or a reader reads
   * (a first subscribe otherwise races the auto-creation). createTopics first; clusters without it (the mock) or
   * without the ACL rely on auto-creation through a metadata request.
   */
  async ensureTopics(topics: readonly string[]): Promise<void> {
    const missing = topics.filter((t) => !this.readyTopics.has(t));
    if (missing.length === 0) return;
    try {
      await this.admin.createTopics({ topics: [...missing], partitions: -1, replicas: -1 });
    } catch (error) {
      this.logger.debug({ err: error, topics: missing }, 'createTopics failed; relying on auto-creation');
    }
    const deadline = Date.now() + this.topicReadyTimeoutMs;
    let lastError = 'no leader yet';
    for (;;) {
      try {
        const metadata = await this.admin.metadata({
          topics: missing,
          autocreateTopics: true,
          forceUpdate: true,
        });
        for (const name of missing) {
          const topic = metadata.topics.get(name);
          if (topic && topic.partitions.length > 0 && topic.partitions.every((p) => p && p.leader >= 0))
            this.readyTopics.add(name);
        }
        if (missing.every((t) => this.readyTopics.has(t))) return;
      } catch (error) {
        lastError = errorText(error);
      }
      if (Date.now() >= deadline)
        throw new Error(`Topics ${missing.join(', ')} are not available: ${lastError}`);
      await abortableSleep(100, new AbortController().signal);
    }
  }

  /** Earliest and latest offsets of every partition of each topic. */
  async ends(topics: readonly string[]): Promise<Map<string, TopicEnds>> {
    const [low, high] = await Promise.all([
      this.offsets.listOffsets({ topics: [...topics], timestamp: kafkaLib.ListOffsetTimestamps.EARLIEST }),
      this.offsets.listOffsets({ topics: [...topics], timestamp: kafkaLib.ListOffsetTimestamps.LATEST }),
    ]);
    const out = new Map<string, TopicEnds>();
    for (const topic of topics) out.set(topic, { low: low.get(topic) ?? [], high: high.get(topic) ?? [] });
    return out;
  }

  /** The group's committed offset per partition of each topic (-1: nothing committed). */
  async committed(groupId: string, topics: ReadonlyMap<string, number>): Promise<Map<string, bigint[]>> {
    return (await this.committedOf([groupId], topics)).get(groupId) ?? new Map();
  }

  /** `committed` of several groups in one request; by group, then topic. */
  async committedOf(
    groupIds: readonly string[],
    topics: ReadonlyMap<string, number>,
  ): Promise<Map<string, Map<string, bigint[]>>> {
    const wanted = [...topics].map(([name, count]) => ({
      name,
      partitionIndexes: Array.from({ length: count }, (_, i) => i),
    }));
    const groups = await this.admin.listConsumerGroupOffsets({
      groups: groupIds.map((groupId) => ({ groupId, topics: wanted })),
    });
    const out = new Map<string, Map<string, bigint[]>>();
    for (const group of groups) {
      const byTopic = new Map<string, bigint[]>();
      for (const topic of group.topics ?? []) {
        const offsets: bigint[] = [];
        for (const p of topic.partitions) offsets[p.partitionIndex] = p.committedOffset;
        byTopic.set(topic.name, offsets);
      }
      out.set(group.groupId, byTopic);
    }
    return out;
  }

  /** Commits offsets for a group no member is in (it fails once one joined). Sparse arrays: only the set partitions. */
  async seedCommitted(groupId: string, offsets: ReadonlyMap<string, readonly bigint[]>): Promise<void> {
    await this.admin.alterConsumerGroupOffsets({
      groupId,
      topics: [...offsets].map(([name, byPartition]) => ({
        name,
        partitionOffsets: byPartition.flatMap((offset, partition) =>
          offset === undefined ? [] : [{ partition, offset }],
        ),
      })),
    });
  }

  async close(): Promise<void> {
    await Promise.all([
      this.admin.close().catch(() => undefined),
      this.offsets.close(true).catch(() => undefined),
    ]);
  }
}
