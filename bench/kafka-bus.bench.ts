/**
 * Kafka bus throughput on librdkafka's mock cluster. Prints numbers, asserts nothing (not a test).
 *
 *   node tools/run-ts.cjs bench/kafka-bus.bench.ts [--events 5000] [--batch 100] [--keys 50]
 *
 * Needs kcat (Kafka mock cluster, 3 brokers). Publishes `--events` events in publishes of `--batch` (as the outbox
 * relay does; idempotent producer, acks=all), then one consumer group reads them all (handler does nothing; commit
 * after every event). The mock runs in one kcat process on the same machine, so this measures the client's cost and
 * the round trips, not a real cluster's.
 */
import { performance } from 'node:perf_hooks';
import { createLogger } from '@mailbridge/platform-observability';
import { startKafkaMockCluster } from '@mailbridge/testing';
import { KafkaEventBus } from '../libs/platform/messaging/src/kafka.event-bus';
import { TestEvents } from '../libs/platform/messaging/src/testing/test-events';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const EVENTS = Number(args.get('events') ?? 5_000);
const BATCH = Number(args.get('batch') ?? 100);
const KEYS = Number(args.get('keys') ?? 50);
const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const cluster = await startKafkaMockCluster({ brokers: 3 });
  const events = new TestEvents(['bench'], 'kafka-bench');
  const bus = (clientId: string) =>
    new KafkaEventBus({
      brokers: cluster.bootstrapServers,
      clientId,
      catalog: events.catalog,
      logger: createLogger({ service: 'kafka-bench', level: 'warn' }),
      consumer: {
        sessionTimeoutMs: 6_000,
        heartbeatIntervalMs: 500,
        rebalanceTimeoutMs: 6_000,
        maxWaitTimeMs: 100,
      },
    });
  const publisher = bus('bench-publisher');
  const consumer = bus('bench-consumer');
  try {
    await publisher.connect();
    const pings = Array.from({ length: EVENTS }, (_, i) =>
      events.ping('bench', { key: `k${i % KEYS}`, seq: i }),
    );
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < pings.length; i += BATCH) await publisher.publish(pings.slice(i, i + BATCH));
    const publishMs = performance.now() - t0;
    const publishCpu = process.cpuUsage(cpu0);
    out(
      `publish: ${EVENTS} events in ${publishMs.toFixed(0)} ms = ${Math.round(EVENTS / (publishMs / 1000))}/s ` +
        `(cpu ${((publishCpu.user + publishCpu.system) / 1000).toFixed(0)} ms)`,
    );

    let handled = 0;
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => (resolveAll = r));
    const joinStart = performance.now();
    await consumer.subscribe({
      groupId: 'bench.group',
      topics: [events.topic('bench')],
      handler: async () => {
        if (++handled === EVENTS) resolveAll();
      },
    });
    const joined = performance.now();
    const cpu1 = process.cpuUsage();
    await all;
    const consumeMs = performance.now() - joined;
    const consumeCpu = process.cpuUsage(cpu1);
    out(`join: ${(joined - joinStart).toFixed(0)} ms (the mock delays a group's first join ~3 s)`);
    out(
      `consume (commit per event): ${EVENTS} events in ${consumeMs.toFixed(0)} ms = ` +
        `${Math.round(EVENTS / (consumeMs / 1000))}/s (cpu ${((consumeCpu.user + consumeCpu.system) / 1000).toFixed(0)} ms)`,
    );
  } finally {
    await Promise.all([publisher.close(), consumer.close()]);
    await cluster.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
