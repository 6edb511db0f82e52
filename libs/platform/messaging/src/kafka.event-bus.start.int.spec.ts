import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { KafkaMockCluster, startKafkaMockCluster } from '@mailbridge/testing';

// kafkajs printed `TimeoutNegativeWarning` on every start on Node 24: a bus that starts, delivers and closes in a
// process of its own must print no Node warning at all.
jest.setTimeout(60_000);

let cluster: KafkaMockCluster;
beforeAll(async () => {
  cluster = await startKafkaMockCluster({ brokers: 3 });
});
afterAll(async () => {
  await cluster?.stop();
});

it('starts, delivers and closes without a single warning on stderr', async () => {
  const root = path.resolve(__dirname, '../../../..');
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [
      path.join(root, 'tools/run-ts.cjs'),
      path.join(__dirname, '__fixtures__/start-kafka-bus.ts'),
      cluster.bootstrapServers.join(','),
    ],
    { cwd: root, env: { ...process.env, NODE_OPTIONS: '' }, timeout: 50_000 },
  );
  expect(stdout).toContain('started, delivered and closed');
  expect(stderr).not.toMatch(/Warning/);
  expect(stderr).toBe('');
});
