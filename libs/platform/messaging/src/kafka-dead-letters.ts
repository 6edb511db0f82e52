import { randomUUID } from 'node:crypto';
import { DLQ_SUFFIX } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import { ListedDeadLetter } from './dead-letter-admin';
import { DeadLetter, DeadLetterHeaders } from './event-bus.port';
import {
  baseOptions,
  compatible,
  headersToRecord,
  KafkaConnection,
  kafkaLib,
  KafkaMessage,
  withTimeout,
} from './kafka-client';
import type { KafkaTopicAdmin } from './kafka-topic-admin';
import type { ProducerRecord } from './kafka-producer';
import { abortableSleep } from './event-delivery';
import type { KafkaConsumerTuning } from './kafka-subscription';

/** A letter as listed, plus what a replay needs: the record's own bytes and headers. */
export interface StoredDeadLetter {
  readonly letter: ListedDeadLetter;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/**
 * Reads a dead-letter topic from its start to its current end with a throwaway group that never commits, so
 * listing never moves anyone's offsets. Oldest failure first.
 */
export async function readDeadLetterTopic(
  dlq: string,
  limit: number,
  deps: {
    readonly connection: KafkaConnection;
    readonly admin: KafkaTopicAdmin;
    readonly tuning: Required<KafkaConsumerTuning>;
    readonly logger: Logger;
  },
): Promise<StoredDeadLetter[]> {
  await deps.admin.ensureTopics([dlq]);
  const ends = (await deps.admin.ends([dlq])).get(dlq);
  const remaining = new Map<number, bigint>();
  ends?.high.forEach((high, partition) => {
    if (high > (ends.low[partition] ?? 0n)) remaining.set(partition, high);
  });
  if (remaining.size === 0) return [];

  const found: StoredDeadLetter[] = [];
  const reader = compatible(
    new kafkaLib.Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...baseOptions(deps.connection, 'dlq-reader'),
      groupId: `${deps.connection.clientId}.dead-letter-reader.${randomUUID()}`,
      sessionTimeout: deps.tuning.sessionTimeoutMs,
      heartbeatInterval: deps.tuning.heartbeatIntervalMs,
      rebalanceTimeout: deps.tuning.rebalanceTimeoutMs,
      maxWaitTime: deps.tuning.maxWaitTimeMs,
      autocommit: false,
    }),
  );
  reader.on('error', (error: unknown) => deps.logger.debug({ err: error }, 'dead-letter reader error'));
  try {
    const read = (async () => {
      const stream = await reader.consume({
        topics: [dlq],
        mode: kafkaLib.MessagesStreamModes.EARLIEST,
        autocommit: false,
        maxWaitTime: deps.tuning.maxWaitTimeMs,
      });
      for await (const message of stream as AsyncIterable<KafkaMessage>) {
        const end = remaining.get(message.partition);
        if (end === undefined || message.offset >= end) continue;
        found.push(toStored(dlq, message));
        if (message.offset + 1n >= end) remaining.delete(message.partition);
        if (remaining.size === 0) break;
      }
    })();
    await withTimeout(read, deps.tuning.joinTimeoutMs + 30_000, `could not read ${dlq} to its end`);
  } finally {
    await reader.close(true).catch(() => undefined);
  }
  const failedAt = (d: StoredDeadLetter) => d.letter.headers[DeadLetterHeaders.failedAt];
  return found.sort((a, b) => failedAt(a).localeCompare(failedAt(b))).slice(0, limit);
}

function toStored(dlq: string, message: KafkaMessage): StoredDeadLetter {
  const headers = headersToRecord(message.headers);
  const dlqHeaders = Object.fromEntries(
    Object.values(DeadLetterHeaders).map((h) => [h, headers[h] ?? '']),
  ) as DeadLetter['headers'];
  return {
    letter: {
      topic: dlq,
      key: message.key?.toString('utf8') ?? null,
      value: message.value?.toString('utf8') ?? '',
      headers: dlqHeaders,
      position: `${message.partition}:${message.offset}`,
    },
    key: message.key ?? null,
    value: message.value ?? null,
    headers,
  };
}

/**
 * Writes `message` to its topic's dead-letter topic with `headers` (why it failed), retrying until it is written (the
 * partition waits: its offset must not pass an unwritten letter). False when the subscription stopped first.
 */
export async function writeDeadLetterPatiently(
  message: KafkaMessage,
  headers: ProducerRecord['headers'],
  write: (record: ProducerRecord) => Promise<void>,
  deps: { readonly logger: Logger; readonly signal: AbortSignal },
): Promise<boolean> {
  const record: ProducerRecord = {
    topic: `${message.topic}${DLQ_SUFFIX}`,
    key: message.key ?? null,
    value: message.value ?? null,
    headers,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      await write(record);
      return true;
    } catch (error) {
      deps.logger.error({ err: error, topic: record.topic, attempt }, 'could not write a dead letter');
      if (deps.signal.aborted) return false;
      await abortableSleep(Math.min(5_000, 200 * 2 ** attempt), deps.signal);
    }
  }
}
