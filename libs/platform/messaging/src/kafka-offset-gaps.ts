// Records a consumer group never saw. Kafka deletes a partition's oldest records by retention (time or bytes) whether
// or not a group has read them; a group whose position fell below the log start resumes at the log start (the
// client's out-of-range fallback) and the records in between are gone without a word. Our topics are neither
// compacted nor transactional, so within a partition the offsets a group reads are contiguous: a record beyond the
// next offset due means the ones in between were never delivered.
import type { Logger } from '@mailbridge/platform-observability';
import type { BusMetrics } from './bus-metrics';
import type { KafkaConsumer } from './kafka-client';

/** Offsets `from` (inclusive) to `to` (exclusive) of a partition that this group never received. */
export interface OffsetGap {
  readonly topic: string;
  readonly partition: number;
  readonly from: bigint;
  readonly to: bigint;
}

const keyOf = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * The next offset due per assigned partition: the group's committed offset when the partition was assigned, then one
 * past each record received. The committed offset is read after the join, so records may come first: the first one
 * is kept and checked against it when it comes.
 */
export class OffsetGaps {
  /** `report`: told of every gap found (the methods also return it). */
  constructor(private readonly report: (gap: OffsetGap) => void = () => undefined) {}

  private readonly due = new Map<string, bigint>();
  /** Partitions assigned whose committed offset is not known yet: their first record received, if any. */
  private readonly awaiting = new Map<string, bigint | undefined>();

  private current = new Set<string>();

  /**
   * The group's assignment after a join: the partitions newly assigned (their committed offsets are to be read and
   * given to `committed`); those kept go on as they were, those gone are forgotten.
   */
  assign(assignments: ReadonlyArray<{ topic: string; partitions: readonly number[] }>) {
    const next = new Set<string>();
    const fresh: Array<{ topic: string; partitions: number[] }> = [];
    for (const { topic, partitions } of assignments) {
      const added = partitions.filter((p) => !this.current.has(keyOf(topic, p)));
      for (const p of partitions) next.add(keyOf(topic, p));
      for (const p of added) {
        // What was due before no longer holds: another member may have moved the partition on meanwhile.
        this.due.delete(keyOf(topic, p));
        this.awaiting.set(keyOf(topic, p), undefined);
      }
      if (added.length > 0) fresh.push({ topic, partitions: added });
    }
    for (const key of this.current) {
      if (next.has(key)) continue;
      this.due.delete(key);
      this.awaiting.delete(key);
    }
    this.current = next;
    return fresh;
  }

  /** The consumer is replaced: its successor's assignment is all new. */
  reset(): void {
    this.assign([]);
  }

  /**
   * The group's committed offset of an assigned partition (negative: none yet, the group starts at the log start and
   * there is nothing it could have missed). The gap, when the first record received lies beyond it.
   */
  committed(topic: string, partition: number, offset: bigint): OffsetGap | undefined {
    const key = keyOf(topic, partition);
    if (!this.awaiting.has(key)) return undefined;
    const first = this.awaiting.get(key);
    this.awaiting.delete(key);
    if (offset < 0n) return undefined;
    if (first === undefined) {
      this.due.set(key, offset);
      return undefined;
    }
    return first > offset ? this.found({ topic, partition, from: offset, to: first }) : undefined;
  }

  /** A record received, in log order after any before it (re-fetched ones are dropped before). The gap, if any. */
  received(topic: string, partition: number, offset: bigint): OffsetGap | undefined {
    const key = keyOf(topic, partition);
    if (this.awaiting.has(key) && this.awaiting.get(key) === undefined) this.awaiting.set(key, offset);
    const due = this.due.get(key);
    if (due === undefined || offset + 1n > due) this.due.set(key, offset + 1n);
    return due !== undefined && offset > due
      ? this.found({ topic, partition, from: due, to: offset })
      : undefined;
  }

  /**
   * A join: `assign`, then the group's committed offsets of the partitions newly assigned are read and each checked
   * against the first record received. A failed read only leaves that check undone.
   */
  joined(
    consumer: Pick<KafkaConsumer, 'listCommittedOffsets'>,
    assignments: ReadonlyArray<{ topic: string; partitions: readonly number[] }>,
    failed: (error: unknown) => void,
  ): void {
    const fresh = this.assign(assignments);
    if (fresh.length === 0) return;
    consumer.listCommittedOffsets({ topics: fresh }).then((committed) => {
      for (const { topic, partitions } of fresh)
        for (const p of partitions) this.committed(topic, p, committed.get(topic)?.[p] ?? -1n);
    }, failed);
  }

  private found(gap: OffsetGap): OffsetGap {
    this.report(gap);
    return gap;
  }
}

/** Records removed from the log before the group read them were never handled: said loudly, and counted. */
export function reportGap(
  gap: OffsetGap,
  group: { readonly groupId: string; readonly members: readonly string[] },
  deps: { readonly metrics: Pick<BusMetrics, 'lost'>; readonly logger: Pick<Logger, 'error'> },
): void {
  const count = Number(gap.to - gap.from);
  for (const member of group.members) deps.metrics.lost(gap.topic, member, count);
  deps.logger.error(
    {
      groupId: group.groupId,
      groups: group.members,
      topic: gap.topic,
      partition: gap.partition,
      fromOffset: gap.from.toString(),
      toOffset: gap.to.toString(),
      count,
    },
    'records were removed from the log before this group read them (retention); they were never handled',
  );
}
