// A Kafka subscription's per-partition queues, the record they hand to delivery, and the slots that bound how many
// partitions one consumer handles at once.
import type { ReceivedRecord } from './event-delivery';
import { headersToRecord, KafkaMessage } from './kafka-client';

/** One assigned partition: its records in log order, handled by one worker at a time. */
export interface PartitionQueue {
  readonly topic: string;
  readonly partition: number;
  readonly items: KafkaMessage[];
  /** Highest offset queued: a record at or below it is a re-fetch after a rebalance and is skipped. */
  highest: bigint;
  running: boolean;
  /** The partition went to another member (or the consumer restarts): nothing more is handled or committed. */
  revoked: boolean;
}

/** An empty queue for the partition `message` came from. */
export function partitionQueueFor(message: KafkaMessage): PartitionQueue {
  return {
    topic: message.topic,
    partition: message.partition,
    items: [],
    highest: -1n,
    running: false,
    revoked: false,
  };
}

/** A fetched message as the transport-neutral delivery reads it (UTF-8 key and value, string headers). */
export function receivedRecordOf(message: KafkaMessage): ReceivedRecord {
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset.toString(),
    key: message.key?.toString('utf8') ?? null,
    value: message.value?.toString('utf8') ?? null,
    headers: headersToRecord(message.headers),
  };
}

/** Counts partitions handled in parallel: `acquire` waits for a free slot, `release` hands it to the next waiter. */
export class WorkerSlots {
  private readonly waiting: Array<() => void> = [];

  constructor(private slots: number) {}

  async acquire(): Promise<void> {
    if (this.slots > 0) {
      this.slots--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.slots++;
  }
}
