import { KafkaMockCluster, startKafkaMockCluster } from '@mailbridge/testing';
import { describeEventBusContract } from './testing/bus-contract';
import { createTestKafkaBus } from './testing/kafka-test-bus';

// The batch section (issue 16): batch delivery, isolation of a failing event, a crash mid-batch (two group joins).
jest.setTimeout(60_000); // the project-level testTimeout is not applied to `projects` entries

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
  { sections: ['batch'], eventuallyMs: 20_000 },
);
