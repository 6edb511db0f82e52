// Records a consumer group never saw. Kafka deletes a partition's oldest records by retention (time or bytes) whether
// or not a group has read them; a group whose position fell below the log start resumes at the log start (the
// client's out-of-range fallback) and the records in between are gone without a word. Our topics are neither
// compacted nor transactional, so within a partition the offsets a group reads are contiguous: a record beyond the
// next offset due means the ones in between were never delivered.
import type { Logger } from '@mailbridge/platform-observability';
import type { BusMetrics } from './bus-metrics';
import type { KafkaConsumer } from './kafka-client';
import type { KafkaTopicAdmin } from './kafka-topic-admin';

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
    consumer
      .listCommittedOffsets({ topics: fresh })
      .then((committed) => {
        for (const { topic, partitions } of fresh)
          for (const p of partitions) this.committed(topic, p, committed.get(topic)?.[p] ?? -1n);
      })
      .catch(failed);
  }

  private found(gap: OffsetGap): OffsetGap {
    this.report(gap);
    return gap;
  }
}

/** A consumer of the group reading the gap's topic, and where it starts in the gap's partition (carry-over floor). */
export interface GapReader {
  readonly group: string;
  readonly floor: bigint;
}

/**
 * A gap is a loss only where the log no longer has the records: the offsets a group reads can also jump when another
 * member committed further than this one read (a late commit of a partition's former owner, an eviction and rejoin).
 * So the gap is checked against the partition's log start, read when it is found: the records from `gap.from` up to
 * the log start (at most `gap.to`) are lost, per consumer from its floor on (a consumer of a shared group skips what
 * its former group had handled). Each consumer's count goes to `lost`; the whole is logged as an error.
 */
export function reportGap(
  gap: OffsetGap,
  logStart: bigint,
  group: { readonly groupId: string; readonly readers: readonly GapReader[] },
  deps: { readonly metrics: Pick<BusMetrics, 'lost'>; readonly logger: Pick<Logger, 'error'> },
): number {
  const to = logStart < gap.to ? logStart : gap.to;
  if (to <= gap.from) return 0;
  let total = 0;
  for (const reader of group.readers) {
    const from = reader.floor > gap.from ? reader.floor : gap.from;
    if (to <= from) continue;
    deps.metrics.lost(gap.topic, reader.group, Number(to - from));
    total += Number(to - from);
  }
  if (total === 0) return 0;
  deps.logger.error(
    {
      groupId: group.groupId,
      groups: group.readers.map((r) => r.group),
      topic: gap.topic,
      partition: gap.partition,
      fromOffset: gap.from.toString(),
      toOffset: to.toString(),
      count: Number(to - gap.from),
    },
    'records were removed from the log before this group read them (retention); they were never handled',
  );
  return total;
}

/** Reads the partition's log start now and reports what of the gap is lost (reportGap); a failed read is a warning. */
export async function checkGap(
  gap: OffsetGap,
  group: { readonly groupId: string; readonly readers: readonly GapReader[] },
  deps: {
    readonly admin: Pick<KafkaTopicAdmin, 'ends'>;
    readonly metrics: Pick<BusMetrics, 'lost'>;
    readonly logger: Pick<Logger, 'error' | 'warn'>;
  },
): Promise<number> {
  try {
    const ends = await deps.admin.ends([gap.topic]);
    return reportGap(gap, ends.get(gap.topic)?.low[gap.partition] ?? 0n, group, deps);
  } catch (err) {
    deps.logger.warn({ err, topic: gap.topic, partition: gap.partition }, 'could not check an offset gap');
    return 0;
  }
}
