import type { EventEnvelope } from '@mailbridge/contracts';
import type { KafkaMessage } from './kafka-client';
import { ChunkEnvelopes } from './kafka-batch-delivery';
import { deliverChunk, type ChunkDeliveryDeps, type ConsumerMember } from './kafka-consumer-members';
import type { PartitionQueue } from './kafka-partition-queue';
import { TestEvents } from './testing/test-events';
import { DEFAULT_RETRY_POLICY } from './event-bus.port';

const events = new TestEvents(['chunk']);
const topic = events.topic('chunk');

function messageOf(value: string, offset: number): KafkaMessage {
  return {
    topic,
    partition: 0,
    offset: BigInt(offset),
    key: Buffer.from('k'),
    value: Buffer.from(value),
    headers: new Map(),
    timestamp: 0n,
    metadata: {},
    commit: async () => undefined,
    toJSON: () => ({}),
  } as unknown as KafkaMessage;
}

const ping = (seq: number) =>
  messageOf(JSON.stringify(events.ping('chunk', { key: 'k', seq, note: 'original' }).envelope), seq);

describe('a chunk read by several consumers of one service (issue 16)', () => {
  it('validates each record once, and hands every consumer after the first its own copy', () => {
    const deserialize = jest.spyOn(events.catalog, 'deserialize');
    const envelopes = new ChunkEnvelopes(events.catalog);
    const message = ping(1);
    const first = envelopes.of(message) as EventEnvelope<{ note?: string }>;
    const second = envelopes.of(message) as EventEnvelope<{ note?: string }>;
    const third = envelopes.of(message) as EventEnvelope<{ note?: string }>;
    expect(deserialize).toHaveBeenCalledTimes(1);
    expect(second).toEqual(first);
    // A handler that changes what it was given changes only its own.
    (first.payload as { note?: string }).note = 'changed by the first consumer';
    expect(second.payload.note).toBe('original');
    expect(third.payload.note).toBe('original');
    expect(second).not.toBe(third);
    deserialize.mockRestore();
  });

  it('an invalid record is invalid for every consumer (each dead-letters it on its own)', () => {
    const envelopes = new ChunkEnvelopes(events.catalog);
    const bad = messageOf('{"not":"an envelope"}', 9);
    expect(envelopes.of(bad)).toBeUndefined();
    expect(envelopes.of(bad)).toBeUndefined();
  });

  it('two batch consumers of one topic each get every event of the chunk, parsed once, in order', async () => {
    const deserialize = jest.spyOn(events.catalog, 'deserialize');
    const seen: Record<string, number[]> = { a: [], b: [] };
    const member = (name: 'a' | 'b'): ConsumerMember => ({
      spec: {
        groupId: `svc.${name}`,
        topics: [topic],
        handler: async () => undefined,
        batch: {
          maxEvents: 2,
          handler: async (list) => {
            for (const e of list) seen[name].push((e.payload as { seq: number }).seq);
          },
        },
      },
      policy: DEFAULT_RETRY_POLICY,
      topics: new Set([topic]),
      floors: new Map(),
    });
    const chunk = [ping(1), ping(2), ping(3)];
    const queue = {
      topic,
      partition: 0,
      items: [],
      highest: 3n,
      running: true,
      revoked: false,
    } as PartitionQueue;
    const committed: bigint[] = [];
    const deps: ChunkDeliveryDeps = {
      catalog: events.catalog,
      logger: { warn: () => undefined } as unknown as ChunkDeliveryDeps['logger'],
      metrics: { consumed: () => undefined } as unknown as ChunkDeliveryDeps['metrics'],
      mayStart: async () => true,
      handleOne: async () => true,
      commit: async (m) => void committed.push(m.offset),
      failed: (error) => {
        throw error;
      },
    };
    expect(await deliverChunk(queue, chunk, [member('a'), member('b')], deps)).toBe(true);
    expect(seen).toEqual({ a: [1, 2, 3], b: [1, 2, 3] });
    expect(deserialize).toHaveBeenCalledTimes(3);
    expect(committed[committed.length - 1]).toBe(3n);
    deserialize.mockRestore();
  });
});
