// Started as its own process by kafka.event-bus.start.int.spec.ts: a bus that connects, subscribes, publishes,
// receives and closes, as a service does at start; the spec reads its stderr.
import { createLogger } from '@mailbridge/platform-observability';
import { KafkaEventBus } from '../kafka.event-bus';
import { TestEvents } from '../testing/test-events';

async function main(): Promise<void> {
  const events = new TestEvents(['start'], 'kafka-start');
  const bus = new KafkaEventBus({
    brokers: process.argv[2].split(','),
    clientId: 'start-check',
    catalog: events.catalog,
    logger: createLogger({ service: 'start-check', level: 'warn' }),
    consumer: {
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 500,
      rebalanceTimeoutMs: 6_000,
      maxWaitTimeMs: 100,
    },
  });
  await bus.connect();
  let received = 0;
  const done = new Promise<void>((resolve) => {
    void bus.subscribe({
      groupId: 'start-check.group',
      topics: [events.topic('start')],
      handler: async () => {
        if (++received === 1) resolve();
      },
    });
  });
  await bus.publish([events.ping('start', { key: 'k', seq: 1 })]);
  await done;
  await bus.close();
  process.stdout.write('started, delivered and closed\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
