import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@mailbridge/contracts';
import { ServiceMetrics } from '@mailbridge/platform-observability';
import { expectEventually, KafkaMockCluster, startKafkaMockCluster } from '@mailbridge/testing';
import { KafkaEventBus } from './kafka.event-bus';
import { KafkaTopicAdmin } from './kafka-topic-admin';
import { createTestKafkaBus, testLogger } from './testing/kafka-test-bus';
import { PingPayload, TestEvents } from './testing/test-events';

// Kafka deletes a partition's oldest records by retention whether or not a group read them; the client then resumes
// the group at the log start. The mock cluster keeps about 5 MB per partition, so a few MB published while a group is
// away are enough to drop records it never read. "No message is ever lost silently": the bus must say so.
jest.setTimeout(120_000);

const events = new TestEvents(['retention'], 'kafka-gap');
const NOTE = 'x'.repeat(40 * 1024);

let cluster: KafkaMockCluster;
const buses: KafkaEventBus[] = [];
beforeAll(async () => {
  cluster = await startKafkaMockCluster({ brokers: 1 });
});
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await cluster?.stop();
});

/** The counter's value; undefined when the series is not listed at all. */
const lostOf = async (metrics: ServiceMetrics, topic: string, group: string) => {
  const { body } = await metrics.render();
  const line = body
    .split('\n')
    .find(
      (l) =>
        l.startsWith('mailbridge_events_lost_total{') &&
        l.includes(`topic="${topic}"`) &&
        l.includes(`group="${group}"`),
    );
  return line ? Number(line.split(' ').pop()) : undefined;
};

describe('KafkaEventBus: records removed by retention before a group read them', () => {
  it('are counted in mailbridge_events_lost_total: every event is either handled or counted lost', async () => {
    const topic = events.topic('retention');
    const group = `svc-${randomUUID().slice(0, 8)}.reader`;
    const newBus = (metrics?: ServiceMetrics) => {
      const bus = createTestKafkaBus(cluster.bootstrapServers, { catalog: events.catalog, metrics });
      buses.push(bus);
      return bus;
    };
    const handled: number[] = [];
    const spec = {
      groupId: group,
      topics: [topic],
      handler: async (e: EventEnvelope) => void handled.push((e.payload as PingPayload).seq),
    };
    const publisher = newBus();

    // The group reads the first event and commits it, then goes away. Its counter is listed at 0 from the start (an
    // alert on its increase sees the first loss).
    const before = new ServiceMetrics('svc', { defaultMetrics: false });
    const first = newBus(before);
    const sub = await first.subscribe(spec);
    expect(await lostOf(before, topic, group)).toBe(0);
    await publisher.publish([events.ping('retention', { key: 'k', seq: 0 })]);
    await expectEventually(() => expect(handled).toEqual([0]), { timeoutMs: 30_000 });
    await sub.stop();

    // 8 MB into its partition while it is away: the log drops the oldest.
    const total = 200;
    for (let seq = 1; seq <= total; seq += 20)
      await publisher.publish(
        Array.from({ length: 20 }, (_, i) =>
          events.ping('retention', { key: 'k', seq: seq + i, note: NOTE }),
        ),
      );
    const admin = new KafkaTopicAdmin(
      {
        brokers: cluster.bootstrapServers,
        clientId: `gap-check-${randomUUID().slice(0, 8)}`,
        connectTimeoutMs: 3_000,
        requestTimeoutMs: 30_000,
      },
      testLogger,
      10_000,
    );
    let logStart: bigint;
    try {
      const ends = (await admin.ends([topic])).get(topic);
      const partition = ends?.high.findIndex((h) => h > 0n) ?? -1;
      logStart = ends?.low[partition] ?? 0n;
    } finally {
      await admin.close();
    }
    // The premise: records the group never read are gone from the log.
    expect(logStart).toBeGreaterThan(1n);

    const metrics = new ServiceMetrics('svc', { defaultMetrics: false });
    await newBus(metrics).subscribe(spec);
    await expectEventually(() => expect(handled).toContain(total), { timeoutMs: 60_000 });
    // Reported once the log start was read (the gap is checked against it).
    await expectEventually(
      async () => expect(await lostOf(metrics, topic, group)).toBe(Number(logStart) - 1),
      {
        timeoutMs: 10_000,
      },
    );
    const lost = Number(logStart) - 1;
    expect(handled.length - 1 + lost).toBe(total);
    expect(handled.slice(1)).toEqual(Array.from({ length: total - lost }, (_, i) => Number(logStart) + i));
  });
});
