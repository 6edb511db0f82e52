import { randomUUID } from 'node:crypto';
import { expectEventually, KafkaMockCluster, startKafkaMockCluster } from '@mailbridge/testing';
import { ServiceMetrics } from '@mailbridge/platform-observability';
import { KafkaEventBus } from './kafka.event-bus';
import { createTestKafkaBus } from './testing/kafka-test-bus';
import { TestEvents } from './testing/test-events';

// Readiness must reach the brokers, and the bus tells /metrics its lag and dead letters. Its own cluster: the test
// freezes it.
jest.setTimeout(60_000);

const events = new TestEvents(['stats'], 'ready');
let cluster: KafkaMockCluster;
const buses: KafkaEventBus[] = [];

function newBus(metrics?: ServiceMetrics): KafkaEventBus {
  const bus = createTestKafkaBus(
    cluster.bootstrapServers,
    { catalog: events.catalog, metrics, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 } },
    { statsCacheMs: 0 },
  );
  buses.push(bus);
  return bus;
}

beforeAll(async () => {
  cluster = await startKafkaMockCluster({ brokers: 1 });
});
afterEach(async () => {
  cluster.resume();
  await Promise.all(buses.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await cluster?.stop();
});

describe('KafkaEventBus readiness and stats', () => {
  it('is not healthy within 10 s of losing its brokers, and healthy again within 10 s of their return', async () => {
    const bus = newBus();
    await bus.connect();
    expect(await bus.health()).toMatchObject({ ok: true });

    cluster.pause();
    const lost = Date.now();
    await expectEventually(async () => expect(await bus.health()).toMatchObject({ ok: false }), {
      timeoutMs: 10_000,
      intervalMs: 250,
    });
    expect((await bus.health()).detail).toMatch(/brokers unreachable/);
    process.stdout.write(`kafka readiness: not ready ${Date.now() - lost} ms after the brokers froze\n`);

    cluster.resume();
    const back = Date.now();
    await expectEventually(async () => expect(await bus.health()).toMatchObject({ ok: true }), {
      timeoutMs: 10_000,
      intervalMs: 250,
    });
    process.stdout.write(`kafka readiness: ready ${Date.now() - back} ms after the brokers came back\n`);
  });

  it('reports consumer lag (high watermark minus committed) and dead letters, and its series reach the given registry', async () => {
    const metrics = new ServiceMetrics('stats-test', { defaultMetrics: false });
    const bus = newBus(metrics);
    const topic = events.topic('stats');
    const groupId = `stats-${randomUUID().slice(0, 8)}`;
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    await bus.subscribe({
      groupId,
      topics: [topic],
      handler: async (event) => {
        if ((event.payload as { seq: number }).seq === 1) await blocked;
      },
    });
    await bus.publish([1, 2, 3].map((seq) => events.ping('stats', { key: 'same-key', seq })));
    await expectEventually(async () =>
      expect((await bus.stats()).consumerLag).toEqual([{ groupId, topic, lag: 3 }]),
    );
    release();
    await expectEventually(async () =>
      expect((await bus.stats()).consumerLag).toEqual([{ groupId, topic, lag: 0 }]),
    );

    // An event that fails validation goes to <topic>.dlq at once.
    await bus.publishRaw(topic, [{ key: 'k', value: '{"not":"an envelope"}' }]);
    await expectEventually(async () =>
      expect((await bus.stats()).deadLetters).toEqual([{ topic, count: 1 }]),
    );
    const body = (await metrics.render()).body;
    expect(body).toMatch(
      new RegExp(
        `mailbridge_events_dead_lettered_total\\{[^}]*topic="${topic.replace(/\./g, '\\.')}"[^}]*\\} 1`,
      ),
    );
    expect(body).toMatch(/mailbridge_events_published_total\{[^}]*\} 3/);
  });
});
