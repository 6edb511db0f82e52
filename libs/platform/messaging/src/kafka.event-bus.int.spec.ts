import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { EventEnvelope } from '@mailbridge/contracts';
import { expectEventually, KafkaMockCluster, startKafkaMockCluster } from '@mailbridge/testing';
import type { DeliveryContext } from './event-bus.port';
import { KafkaEventBus } from './kafka.event-bus';
import { createTestKafkaBus } from './testing/kafka-test-bus';
import { PingPayload, TestEvents } from './testing/test-events';

// Kafka-only behaviour: what the wire carries, groups shared by several consumers, a consumer that dies between
// its handler and its commit. The behaviour shared with the in-process bus is in the contract files.
jest.setTimeout(40_000);

const events = new TestEvents(['wire', 'shared-group', 'crash'], 'kafka');
const eventually = <T>(assertion: () => T | Promise<T>) => expectEventually(assertion, { timeoutMs: 20_000 });

let cluster: KafkaMockCluster;
const buses: KafkaEventBus[] = [];

function newBus(overrides: Parameters<typeof createTestKafkaBus>[2] = {}): KafkaEventBus {
  const bus = createTestKafkaBus(
    cluster.bootstrapServers,
    { catalog: events.catalog, retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 } },
    overrides,
  );
  buses.push(bus);
  return bus;
}

beforeAll(async () => {
  cluster = await startKafkaMockCluster({ brokers: 3 });
});
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await cluster?.stop();
});

interface Delivery {
  readonly event: EventEnvelope<PingPayload>;
  readonly context: DeliveryContext;
}

describe('KafkaEventBus on the mock cluster', () => {
  it('writes the envelope key as message key, the serialized envelope as value, and type/version/correlation headers', async () => {
    const bus = newBus();
    const sent = events.ping('wire', { key: 'wire-key', seq: 7 }, { correlationId: 'corr-wire' });
    await bus.publish([sent]);

    // Read back by another client (kcat, on librdkafka): what any consumer of the topic sees.
    const { stdout } = await promisify(execFile)('kcat', [
      '-b',
      cluster.bootstrapServers.join(','),
      '-C',
      '-t',
      sent.topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%k\\t%s\\t%h\\n',
    ]);
    const seen = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [key, value, headers] = line.split('\t');
        return { key, value, headers: Object.fromEntries(headers.split(',').map((h) => h.split('='))) };
      });
    expect(seen).toHaveLength(1);

    expect(seen[0].key).toBe('wire-key');
    expect(JSON.parse(seen[0].value ?? '')).toEqual(sent.envelope);
    expect(seen[0].headers).toEqual({
      type: 'kafka-wire.pinged',
      version: '1',
      'correlation-id': 'corr-wire',
    });
  });

  it('shares the partitions of one group between two consumers without losing an event', async () => {
    const groupId = `shared-${randomUUID().slice(0, 8)}`;
    const handledBy = { a: [] as Delivery[], b: [] as Delivery[] };
    const subscribe = (bus: KafkaEventBus, into: Delivery[]) =>
      bus.subscribe({
        groupId,
        topics: [events.topic('shared-group')],
        handler: async (event, context) => {
          into.push({ event: event as EventEnvelope<PingPayload>, context });
        },
      });
    await subscribe(newBus(), handledBy.a);
    await subscribe(newBus(), handledBy.b);
    // These keys cover all 4 partitions (murmur2), so both consumers get work whatever the assignment.
    const keys = ['k-a', 'k-b', 'k-c', 'k-d', 'k-e', 'k-f', 'k-g', 'k-h'];
    const pings = Array.from({ length: 200 }, (_, i) =>
      events.ping('shared-group', { key: keys[i % 8], seq: i }),
    );

    await newBus().publish(pings);

    const all = () => [...handledBy.a, ...handledBy.b];
    await eventually(() =>
      expect(new Set(all().map((d) => d.event.id))).toEqual(new Set(pings.map((p) => p.envelope.id))),
    );
    expect(handledBy.a.length).toBeGreaterThan(0);
    expect(handledBy.b.length).toBeGreaterThan(0);
    // Each consumer saw the keys it owns in order.
    for (const deliveries of [handledBy.a, handledBy.b]) {
      for (const key of keys) {
        const seqs = deliveries.filter((d) => d.event.payload.key === key).map((d) => d.event.payload.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      }
    }
  });

  it('keeps a key in order when a second member joins mid-stream (each event first handled in publish order)', async () => {
    const groupId = `handover-${randomUUID().slice(0, 8)}`;
    const topic = events.topic('shared-group');
    // One log for both members: the first time each seq was handled, and by whom.
    const log: Array<{ seq: number; by: string }> = [];
    const member = (name: string) => (bus: KafkaEventBus) =>
      bus.subscribe({
        groupId,
        topics: [topic],
        handler: async (event) => {
          const { key, seq } = event.payload as PingPayload;
          if (key !== 'handover') return;
          await new Promise((r) => setTimeout(r, 5));
          if (!log.some((l) => l.seq === seq)) log.push({ seq, by: name });
        },
      });
    await member('a')(newBus());
    await newBus().publish(
      Array.from({ length: 400 }, (_, i) => events.ping('shared-group', { key: 'handover', seq: i })),
    );
    await eventually(() => expect(log.length).toBeGreaterThan(20));
    await member('b')(newBus());
    await eventually(() => expect(log.length).toBe(400));
    expect(log.map((l) => l.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i));
  });

  it('gives the event again to the group when a consumer dies after its handler but before its commit', async () => {
    const groupId = `crash-${randomUUID().slice(0, 8)}`;
    const topic = events.topic('crash');
    // The inbox (persistence lib) records handled ids with the effect; a Set stands in for it.
    const inbox = new Set<string>();
    const effects: string[] = [];
    const applyOnce = (event: EventEnvelope) => {
      if (inbox.has(event.id)) return;
      inbox.add(event.id);
      effects.push(event.id);
    };

    // Consumer A applies the effect, then hangs before returning: it never commits and cannot rejoin the group,
    // like a process killed at that point. When B's join forces a rebalance, the coordinator evicts A.
    let releaseA: () => void = () => undefined;
    const hang = new Promise<void>((r) => (releaseA = r));
    let handledByA = 0;
    await newBus().subscribe({
      groupId,
      topics: [topic],
      handler: async (event) => {
        applyOnce(event);
        handledByA++;
        await hang;
      },
    });
    const sent = events.ping('crash', { key: 'crash-key', seq: 1 });
    await newBus().publish([sent]);
    await eventually(() => expect(handledByA).toBe(1));

    // Consumer B joins the same group, gets the partition once A is gone, and reads from the last commit.
    const deliveredToB: string[] = [];
    await newBus().subscribe({
      groupId,
      topics: [topic],
      handler: async (event) => {
        deliveredToB.push(event.id);
        applyOnce(event);
      },
    });

    try {
      await eventually(() => expect(deliveredToB).toEqual([sent.envelope.id]));
      expect(effects).toEqual([sent.envelope.id]);
    } finally {
      releaseA(); // its late commit is refused: the coordinator no longer knows the member
    }
  });

  it('publishes with the idempotent producer on the mock cluster (a producer id granted, acks from all replicas)', async () => {
    const bus = newBus({ idempotent: true });
    await expect(bus.connect()).resolves.toBeUndefined();
    const groupId = `idem-${randomUUID().slice(0, 8)}`;
    const seen: number[] = [];
    await bus.subscribe({
      groupId,
      topics: [events.topic('wire')],
      handler: async (event) => {
        const payload = event.payload as PingPayload;
        if (payload.key === 'idem-key') seen.push(payload.seq);
      },
    });
    await bus.publish(Array.from({ length: 50 }, (_, i) => events.ping('wire', { key: 'idem-key', seq: i })));
    await eventually(() => expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i)));
  });

  it('names its consumers in health', async () => {
    const bus = newBus();
    expect(await bus.health()).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/producer: not started/),
    });
    const groupId = `health-${randomUUID().slice(0, 8)}`;
    await bus.subscribe({ groupId, topics: [events.topic('wire')], handler: async () => undefined });

    expect(await bus.health()).toEqual({
      ok: true,
      detail: `brokers answer; producer ready; consumers: ${groupId}=running`,
    });
  });
});
