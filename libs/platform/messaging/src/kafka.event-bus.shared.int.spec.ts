import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@mailbridge/contracts';
import { expectEventually, KafkaMockCluster, startKafkaMockCluster } from '@mailbridge/testing';
import type { SubscriptionSpec } from './event-bus.port';
import { KafkaEventBus } from './kafka.event-bus';
import { KafkaTopicAdmin } from './kafka-topic-admin';
import { createTestKafkaBus, testLogger } from './testing/kafka-test-bus';
import { PingPayload, TestEvents } from './testing/test-events';

// A service's consumers moving from one group each to the service's shared group (issue 16): nobody is handed again
// what its own group had handled, nothing is skipped, and the shared group starts where its consumers stood.
jest.setTimeout(120_000);

const events = new TestEvents(['carry-over', 'carry-seed', 'mid-chunk'], 'kafka-shared');
const eventually = <T>(assertion: () => T | Promise<T>) => expectEventually(assertion, { timeoutMs: 30_000 });
const SPREAD = ['k-a', 'k-b', 'k-c', 'k-d', 'k-e', 'k-f', 'k-g', 'k-h'];

let cluster: KafkaMockCluster;
const buses: KafkaEventBus[] = [];
const newBus = () => {
  const bus = createTestKafkaBus(cluster.bootstrapServers, { catalog: events.catalog });
  buses.push(bus);
  return bus;
};

beforeAll(async () => {
  cluster = await startKafkaMockCluster({ brokers: 3 });
});
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await cluster?.stop();
});

/** A consumer that records the seq of every event handed to it (all keys: seq is unique per run). */
function recorder(groupId: string, topic: string, seen: number[], batch = false): SubscriptionSpec {
  const push = (e: EventEnvelope) => void seen.push((e.payload as PingPayload).seq);
  return {
    groupId,
    topics: [topic],
    handler: async (event) => push(event),
    ...(batch ? { batch: { handler: async (list: readonly EventEnvelope[]) => list.forEach(push) } } : {}),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const sorted = (seen: number[]) => [...seen].sort((a, b) => a - b);
const pings = (scenario: string, from: number, to: number) =>
  range(from, to).map((seq) => events.ping(scenario, { key: SPREAD[seq % SPREAD.length], seq }));

describe('KafkaEventBus shared group', () => {
  it('takes over from its consumers’ own groups: each gets exactly what it had not handled, a new one everything', async () => {
    const scenario = 'carry-over';
    const topic = events.topic(scenario);
    const service = `svc-${randomUUID().slice(0, 8)}`;
    const [a, b, c] = ['a', 'b', 'c'].map((name) => `${service}.${name}`);
    const publisher = newBus();

    // Before: a and b each in their own group; b stops after 30 events, a goes on to 50.
    const before = { a: [] as number[], b: [] as number[] };
    const old = newBus();
    const subA = await old.subscribe(recorder(a, topic, before.a, true));
    const subB = await old.subscribe(recorder(b, topic, before.b));
    await publisher.publish(pings(scenario, 0, 30));
    await eventually(() => expect(sorted(before.b)).toEqual(range(0, 30)));
    await subB.stop();
    await publisher.publish(pings(scenario, 30, 50));
    await eventually(() => expect(sorted(before.a)).toEqual(range(0, 50)));
    await subA.stop();
    // Published while nothing runs.
    await publisher.publish(pings(scenario, 50, 60));

    // After: one group for the service, with a consumer c that never had a group of its own. Then a restart of it:
    // it hands nobody anything again, and a new event reaches all three once.
    const after = { a: [] as number[], b: [] as number[], c: [] as number[] };
    for (const end of [60, 61]) {
      if (end === 61) await publisher.publish(pings(scenario, 60, 61));
      const shared = await newBus().subscribeShared({
        groupId: service,
        consumers: [
          recorder(a, topic, after.a, true),
          recorder(b, topic, after.b),
          recorder(c, topic, after.c),
        ],
      });
      await eventually(() => {
        expect(sorted(after.a)).toEqual(range(50, end));
        expect(sorted(after.b)).toEqual(range(30, end));
        expect(sorted(after.c)).toEqual(range(0, end));
      });
      await shared.stop();
    }
  });

  it('starts the shared group at the lowest offset its consumers had committed, not at the beginning', async () => {
    const scenario = 'carry-seed';
    const topic = events.topic(scenario);
    const service = `svc-${randomUUID().slice(0, 8)}`;
    const [a, b] = [`${service}.a`, `${service}.b`];
    const publisher = newBus();
    const seen = { a: [] as number[], b: [] as number[] };
    const old = newBus();
    const subA = await old.subscribe(recorder(a, topic, seen.a));
    const subB = await old.subscribe(recorder(b, topic, seen.b));
    await publisher.publish(pings(scenario, 0, 40));
    await eventually(() => {
      expect(seen.a).toHaveLength(40);
      expect(seen.b).toHaveLength(40);
    });
    await subB.stop();
    await publisher.publish(pings(scenario, 40, 48));
    await eventually(() => expect(seen.a).toHaveLength(48));
    await subA.stop();

    const admin = new KafkaTopicAdmin(
      {
        brokers: cluster.bootstrapServers,
        clientId: `seed-check-${randomUUID().slice(0, 8)}`,
        connectTimeoutMs: 3_000,
        requestTimeoutMs: 30_000,
      },
      testLogger,
      10_000,
    );
    const seed = jest.spyOn(KafkaTopicAdmin.prototype, 'seedCommitted');
    try {
      const ends = await admin.ends([topic]);
      const sizes = new Map([[topic, ends.get(topic)?.high.length ?? 0]]);
      const old = await admin.committedOf([a, b], sizes);
      const lowest = (old.get(a)?.get(topic) ?? []).map((offset, partition) => {
        const other = old.get(b)?.get(topic)?.[partition] ?? -1n;
        return offset < other ? offset : other;
      });
      expect(lowest.filter((o) => o > 0n).length).toBeGreaterThan(1);

      const shared = await newBus().subscribeShared({
        groupId: service,
        consumers: [recorder(a, topic, seen.a), recorder(b, topic, seen.b)],
      });
      expect(seed).toHaveBeenCalledTimes(1);
      await expect(seed.mock.results[0].value).resolves.toBeUndefined(); // the broker took it
      const [groupId, offsets] = seed.mock.calls[0];
      expect(groupId).toBe(service);
      // Every partition b had reached (the lower of the two), none at the beginning of the log.
      expect([...(offsets.get(topic) ?? [])]).toEqual(lowest.map((o) => (o >= 0n ? o : undefined)));
      await eventually(() => expect(sorted(seen.b)).toEqual(range(0, 48)));
      expect(sorted(seen.a)).toEqual(range(0, 48));
      expect((await admin.committed(service, sizes)).get(topic)).toEqual(ends.get(topic)?.high);
      await shared.stop();
    } finally {
      seed.mockRestore();
      await admin.close();
    }
  });

  it('stopped while one consumer of a chunk is still at it, the group hands that consumer the rest again; nothing is lost', async () => {
    const scenario = 'mid-chunk';
    const topic = events.topic(scenario);
    const service = `svc-${randomUUID().slice(0, 8)}`;
    const publisher = newBus();
    // One key, one partition, published first: the batch consumer's whole chunk arrives at once.
    await publisher.publish(range(0, 20).map((seq) => events.ping(scenario, { key: 'one', seq })));
    const fast: number[] = [];
    const slow: number[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reachedHold = false;
    const slowConsumer = (hold: boolean): SubscriptionSpec => ({
      groupId: `${service}.slow`,
      topics: [topic],
      handler: async (event) => {
        const seq = (event.payload as PingPayload).seq;
        if (hold && seq === 8) {
          reachedHold = true;
          await held;
        }
        slow.push(seq);
      },
    });
    const first = await newBus().subscribeShared({
      groupId: service,
      consumers: [recorder(`${service}.fast`, topic, fast, true), slowConsumer(true)],
    });
    await eventually(() => {
      expect(sorted(fast)).toEqual(range(0, 20));
      expect(reachedHold).toBe(true);
    });
    const stopping = first.stop();
    release(); // the record in hand finishes; nothing after it starts
    await stopping;
    expect(slow).toEqual(range(0, 9));

    const second = await newBus().subscribeShared({
      groupId: service,
      consumers: [recorder(`${service}.fast`, topic, fast, true), slowConsumer(false)],
    });
    // The slow one gets what it had not handled, from where the group's offset stood (past 8: every consumer had it).
    // The fast one had all 20, but its group could not move past what the slow one had not settled: 9..19 again.
    await eventually(() => {
      expect(slow).toEqual(range(0, 20));
      expect(sorted(fast)).toEqual([...range(0, 20), ...range(9, 20)].sort((a, b) => a - b));
    });
    await second.stop();
  });
});
