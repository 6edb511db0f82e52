// The consumers one Kafka group member reads for (a service's shared group): who reads which topic, in what batch
// size, from where (carry-over from their former groups), and how a chunk of a partition reaches them all.
import type { Logger } from '@mailbridge/platform-observability';
import type { RetryPolicy, SubscriptionSpec } from './event-bus.port';
import { abortableSleep } from './event-delivery';
import { errorText, KafkaMessage } from './kafka-client';
import { BatchDeliveryDeps, ChunkEnvelopes, deliverBatch } from './kafka-batch-delivery';
import type { PartitionQueue } from './kafka-partition-queue';
import type { KafkaTopicAdmin } from './kafka-topic-admin';

/** One consumer read through the group: its own handler, retries and dead letters, named by its own `groupId`. */
export interface KafkaConsumerMember {
  readonly spec: SubscriptionSpec;
  readonly policy: RetryPolicy;
}

export interface ConsumerMember extends KafkaConsumerMember {
  readonly topics: ReadonlySet<string>;
  /**
   * Per `topic:partition`, the offset its own group had committed before the shared group took over: the records
   * below it were handled already and are not handed to it again.
   */
  readonly floors: Map<string, bigint>;
}

const DEFAULT_BATCH_SIZE = 100;

/** Records a consumer takes at once: its batch size, or one. */
export const batchSizeOf = (member: KafkaConsumerMember): number =>
  member.spec.batch ? Math.max(1, member.spec.batch.maxEvents ?? DEFAULT_BATCH_SIZE) : 1;

export type CarryOverAdmin = Pick<KafkaTopicAdmin, 'ends' | 'committedOf' | 'seedCommitted'>;

/**
 * A shared group takes over from its consumers' own groups (a service moving to one group): each consumer skips
 * what its own group had committed (its floors), and a partition the shared group has no offset for yet starts at
 * the lowest of them rather than at the beginning of the log. Old groups stop moving once no replica of the former
 * version runs, so reading them at every start is exact; the seed only saves re-reading, the floors are what keep a
 * consumer from acting twice.
 */
export async function carryOver(
  groupId: string,
  members: readonly ConsumerMember[],
  deps: { readonly admin: CarryOverAdmin; readonly logger: Logger; readonly signal: AbortSignal },
): Promise<void> {
  const own = members.filter((m) => m.spec.groupId !== groupId);
  if (own.length === 0) return;
  const topics = [...new Set(members.flatMap((m) => [...m.topics]))];
  const groups = [groupId, ...own.map((m) => m.spec.groupId)];
  let sizes = new Map<string, number>();
  let committed = new Map<string, Map<string, bigint[]>>();
  for (let attempt = 1; ; attempt++) {
    try {
      const ends = await deps.admin.ends(topics);
      sizes = new Map(topics.map((t) => [t, ends.get(t)?.high.length ?? 0]));
      committed = await deps.admin.committedOf(groups, sizes);
      break;
    } catch (error) {
      // Without them a consumer could act again on what it had handled: the service does not start blind.
      if (attempt >= 3 || deps.signal.aborted)
        throw new Error(
          `could not read the committed offsets of consumer groups ${groups.join(', ')} (the service's group and ` +
            `its consumers' former ones; the service needs Describe on them): ${errorText(error)}`,
        );
      await abortableSleep(1_000 * attempt, deps.signal);
    }
  }
  const seeds = new Map<string, bigint[]>();
  for (const [topic, count] of sizes) {
    const shared = committed.get(groupId)?.get(topic) ?? [];
    const readers = members.filter((m) => m.topics.has(topic));
    for (let partition = 0; partition < count; partition++) {
      let lowest: bigint | undefined;
      for (const member of readers) {
        const floor = committed.get(member.spec.groupId)?.get(topic)?.[partition] ?? -1n;
        if (floor >= 0n) member.floors.set(`${topic}:${partition}`, floor);
        lowest = floor < 0n ? -1n : lowest === undefined || floor < lowest ? floor : lowest;
      }
      if ((shared[partition] ?? -1n) >= 0n || lowest === undefined || lowest < 0n) continue;
      const offsets = seeds.get(topic) ?? [];
      offsets[partition] = lowest;
      seeds.set(topic, offsets);
    }
  }
  if (seeds.size === 0) return;
  try {
    await deps.admin.seedCommitted(groupId, seeds);
    deps.logger.info({ groupId }, "shared group starts from its consumers' offsets");
  } catch (error) {
    // Another member of the group joined first (the group is not empty): it seeded already, or reads from the start.
    deps.logger.warn({ err: error, groupId }, "could not seed the shared group's offsets");
  }
}

export interface ChunkDeliveryDeps extends Omit<BatchDeliveryDeps, 'batch' | 'groupId' | 'handleOne'> {
  /** One record to one consumer, with its retries and dead letter; false when stopped. */
  readonly handleOne: (member: ConsumerMember, message: KafkaMessage) => Promise<boolean>;
  /** Commits past `message` (called in order). */
  readonly commit: (message: KafkaMessage) => Promise<void>;
  /** A consumer's delivery threw (not a handler failure: those are retried and dead-lettered). */
  readonly failed: (error: unknown) => void;
}

/**
 * A chunk of one partition to every consumer of its topic at once. The offset moves past a record once every one of
 * them settled it (commits in order, as they progress), so a stop or crash mid-chunk hands again only what some
 * consumer had not settled. False when not all of it was settled (stopped, revoked, or a consumer failed).
 */
export async function deliverChunk(
  queue: PartitionQueue,
  chunk: readonly KafkaMessage[],
  members: readonly ConsumerMember[],
  deps: ChunkDeliveryDeps,
): Promise<boolean> {
  const settled = members.map(() => -1);
  let committed = -1;
  let commits = Promise.resolve();
  const progress = (member: number, index: number) => {
    settled[member] = index;
    const low = Math.min(...settled);
    if (low <= committed) return;
    committed = low;
    const message = chunk[low];
    commits = commits.then(() => deps.commit(message));
  };
  // Validated once for all of them (a lone consumer needs no memo).
  const shared = members.length > 1 ? { ...deps, envelopes: new ChunkEnvelopes(deps.catalog) } : deps;
  const outcomes = await Promise.allSettled(
    members.map((m, i) => deliverTo(m, queue, chunk, (index) => progress(i, index), shared)),
  );
  await commits;
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    // Not settled and not retried here: the caller restarts from the committed offset (nothing skipped).
    deps.failed(failed.reason);
    return false;
  }
  return outcomes.every((o) => o.status === 'fulfilled' && o.value);
}

/**
 * The chunk to one consumer: what it has not handled yet (its floor), in its own batch size. `settledTo` gets the
 * index in the chunk up to which it is done. False when stopped before all of it was settled.
 */
async function deliverTo(
  member: ConsumerMember,
  queue: PartitionQueue,
  chunk: readonly KafkaMessage[],
  settledTo: (index: number) => void,
  deps: ChunkDeliveryDeps,
): Promise<boolean> {
  const floor = member.floors.get(`${queue.topic}:${queue.partition}`) ?? -1n;
  let from = 0;
  while (from < chunk.length && chunk[from].offset < floor) from++;
  if (!member.spec.batch) {
    for (let i = from; i < chunk.length; i++) {
      if (!(await deps.handleOne(member, chunk[i]))) return false;
      settledTo(i);
    }
    settledTo(chunk.length - 1);
    return true;
  }
  const size = batchSizeOf(member);
  for (let i = from; i < chunk.length; i += size) {
    const slice = chunk.slice(i, i + size);
    const done = await deliverBatch(queue, slice, {
      ...deps,
      batch: member.spec.batch,
      groupId: member.spec.groupId,
      handleOne: (message) => deps.handleOne(member, message),
    });
    if (!done) return false;
    settledTo(i + slice.length - 1);
  }
  settledTo(chunk.length - 1);
  return true;
}
