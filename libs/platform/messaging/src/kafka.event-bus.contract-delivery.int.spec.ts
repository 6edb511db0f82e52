import { KafkaMockCluster, startKafkaMockCluster } from '@mailbridge/testing';
import { describeEventBusContract } from './testing/bus-contract';
import { createTestKafkaBus } from './testing/kafka-test-bus';

// The contract is split over two files (delivery, failures) so each stays well under a minute:
// every group's first join costs ~3 s on the mock cluster.
jest.setTimeout(30_000); // the project-level testTimeout is not applied to `projects` entries

let cluster: KafkaMockCluster;
beforeAll(async () => {
  cluster = await startKafkaMockCluster({ brokers: 3 });
});
afterAll(async () => {
  await cluster?.stop();
});

describeEventBusContract(
  'KafkaEventBus on the mock cluster',
  async (setup) => createTestKafkaBus(cluster.bootstrapServers, setup),
  { sections: ['delivery'], eventuallyMs: 20_000 },
);
