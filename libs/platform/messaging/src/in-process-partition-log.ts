// The in-process bus's bookkeeping: the per-partition logs, each group's cursor over them, the publishers waiting
// on a cursor, and the pure rules that move them (key → partition, settling waiters, trimming handled history).
import type { RetryPolicy, SubscriptionSpec } from './event-bus.port';
import type { ReceivedRecord } from './event-delivery';

/** One virtual partition: `records[i]` has offset `base + i`. */
export interface PartitionLog {
  base: number;
  readonly records: ReceivedRecord[];
}

export function endOf(log: PartitionLog): number {
  return log.base + log.records.length;
}

export interface Member {
  readonly spec: SubscriptionSpec;
  readonly policy: RetryPolicy;
  readonly abort: AbortController;
  readonly inFlight: Set<Promise<unknown>>;
}

export interface Gate {
  readonly opened: Promise<void>;
  open(): void;
  fail(error: Error): void;
}

export function gate(): Gate {
  let open: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  opened.catch(() => undefined); // only publishers waiting at the gate see the failure
  return { opened, open, fail };
}

export interface Waiter {
  readonly offset: number;
  resolve(): void;
  reject(error: Error): void;
}

/** One consumer group's view of one topic: a cursor per partition, like committed offsets. */
export interface GroupCursor {
  readonly groupId: string;
  readonly topic: string;
  readonly members: Member[];
  readonly next: number[];
  readonly draining: (Promise<void> | undefined)[];
  readonly waiters: Waiter[][];
}

/** FNV-1a: a stable key → partition mapping, so a key always lands on the same virtual partition. */
export function virtualPartition(key: string | null, partitions: number): number {
  if (key === null) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/** Resolves the publishers waiting on records the cursor has now passed. */
export function settleWaiters(cursor: GroupCursor, partition: number): void {
  const waiters = cursor.waiters[partition];
  let settled = 0;
  while (settled < waiters.length && waiters[settled].offset < cursor.next[partition])
    waiters[settled++].resolve();
  waiters.splice(0, settled);
}

/**
 * Drops what every group has handled (`handled`: the lowest cursor of the topic's groups), beyond the retained
 * history (in chunks: shifting an array is O(n)).
 */
export function trimLog(log: PartitionLog, handled: number, retainHandled: number): void {
  const droppable = handled - retainHandled - log.base;
  if (handled === Infinity || droppable < Math.max(1, Math.min(1_000, retainHandled))) return;
  log.records.splice(0, droppable);
  log.base += droppable;
}
