import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@mailbridge/contracts';
import { expectEventually, KafkaMockCluster, startKafkaMockCluster } from '@mailbridge/testing';
import { BatchDeliveryContext, DeadLetterHeaders, PermanentEventError } from './event-bus.port';
import { KafkaEventBus } from './kafka.event-bus';
import { createTestKafkaBus } from './testing/kafka-test-bus';
import { PingPayload, TestEvents } from './testing/test-events';

// The batch path of the port (SubscriptionSpec.batch) on Kafka: per partition, in order, committed after the
// batch resolves, one at a time through `handler` when it rejects; invalid events never enter a batch.
jest.setTimeout(60_000);

const events = new TestEvents(['batch-order', 'batch-fallback', 'batch-invalid'], 'kafka-batch');
const eventually = <T>(assertion: () => T | Promise<T>) => expectEventually(assertion, { timeoutMs: 25_000 });

let cluster: KafkaMockCluster;
const buses: KafkaEventBus[] = [];
const newBus = () => {
  const bus = createTestKafkaBus(cluster.bootstrapServers, {
    catalog: events.catalog,
    retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
  });
  buses.push(bus);
  return bus;
};
const seqOf = (e: EventEnvelope) => (e.payload as PingPayload).seq;

beforeAll(async () => {
  cluster = await startKafkaMockCluster({ brokers: 3 });
});
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await cluster?.stop();
});

describe('KafkaEventBus batch path on the mock cluster', () => {
  it('hands a partition its events in batches of at most maxEvents, in log order, and commits after each batch', async () => {
    const topic = events.topic('batch-order');
    const publisher = newBus();
    // Published before the group exists: the first fetch brings them all, so batches really hold several.
    await publisher.publish(
      Array.from({ length: 60 }, (_, i) => events.ping('batch-order', { key: 'one', seq: i })),
    );
    const batches: Array<{ seqs: number[]; context: BatchDeliveryContext }> = [];
    const single: number[] = [];
    const groupId = `batch-${randomUUID().slice(0, 8)}`;
    const consumer = newBus();
    await consumer.subscribe({
      groupId,
      topics: [topic],
      handler: async (event) => {
        single.push(seqOf(event));
      },
      batch: {
        maxEvents: 25,
        handler: async (batch, context) => {
          batches.push({ seqs: batch.map(seqOf), context });
        },
      },
    });

    await eventually(() =>
      expect(batches.flatMap((b) => b.seqs)).toEqual(Array.from({ length: 60 }, (_, i) => i)),
    );
    expect(single).toEqual([]);
    expect(Math.max(...batches.map((b) => b.seqs.length))).toBeGreaterThan(1);
    for (const { seqs, context } of batches) {
      expect(seqs.length).toBeLessThanOrEqual(25);
      expect(context).toMatchObject({ topic, groupId, partition: batches[0].context.partition });
      expect(BigInt(context.lastOffset) - BigInt(context.firstOffset)).toBe(BigInt(seqs.length - 1));
    }
    // Committed past the last batch: nothing left for the group.
    await eventually(async () =>
      expect((await consumer.stats()).consumerLag).toEqual([{ groupId, topic, lag: 0 }]),
    );
  });

  it('delivers a rejected batch one event at a time through handler, in order, dead-lettering only the failing event', async () => {
    const topic = events.topic('batch-fallback');
    await newBus().publish(
      Array.from({ length: 10 }, (_, i) => events.ping('batch-fallback', { key: 'k', seq: i })),
    );
    const batchCalls: number[][] = [];
    const single: number[] = [];
    const consumer = newBus();
    await consumer.subscribe({
      groupId: `fallback-${randomUUID().slice(0, 8)}`,
      topics: [topic],
      handler: async (event) => {
        if (seqOf(event) === 3) throw new PermanentEventError('seq 3 can never succeed', 'poison');
        single.push(seqOf(event));
      },
      batch: {
        handler: async (batch) => {
          batchCalls.push(batch.map(seqOf));
          throw new Error('the batch store is down');
        },
      },
    });

    await eventually(() => expect(single).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]));
    expect(batchCalls.length).toBeGreaterThan(0);
    expect(batchCalls.flat()).toEqual(expect.arrayContaining([3]));
    await eventually(async () => {
      const letters = await consumer.listDeadLetters(topic);
      expect(letters.map((l) => seqOf(JSON.parse(l.value)))).toEqual([3]);
      expect(letters[0].headers[DeadLetterHeaders.errorCode]).toBe('poison');
    });
  });

  it('keeps an invalid record out of every batch and dead-letters it, the valid ones around it still batched in order', async () => {
    const topic = events.topic('batch-invalid');
    const bus = newBus();
    await bus.publish([0, 1, 2].map((seq) => events.ping('batch-invalid', { key: 'k', seq })));
    await bus.publishRaw(topic, [{ key: 'k', value: '{"not":"an envelope"}' }]);
    await bus.publish([3, 4].map((seq) => events.ping('batch-invalid', { key: 'k', seq })));
    const batched: number[][] = [];
    const consumer = newBus();
    await consumer.subscribe({
      groupId: `invalid-${randomUUID().slice(0, 8)}`,
      topics: [topic],
      handler: async () => undefined,
      batch: {
        handler: async (batch) => {
          batched.push(batch.map(seqOf));
        },
      },
    });

    await eventually(() => expect(batched.flat()).toEqual([0, 1, 2, 3, 4]));
    await eventually(async () => {
      const letters = await consumer.listDeadLetters(topic);
      expect(letters.map((l) => l.value)).toEqual(['{"not":"an envelope"}']);
      expect(letters[0].headers[DeadLetterHeaders.errorCode]).toBe('event_invalid');
    });
  });
});
