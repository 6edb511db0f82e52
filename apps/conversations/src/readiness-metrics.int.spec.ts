import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import { Topics, eventCatalog } from '@mailbridge/contracts';
import { KafkaEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import {
  buildApp,
  createTestDatabase,
  duplicateJsonKeys,
  expectEventually,
  KafkaMockCluster,
  spawnNode,
  SpawnedProcess,
  startKafkaMockCluster,
  startTcpProxy,
  TcpProxy,
  TestDatabase,
} from '@mailbridge/testing';

/**
 * The platform's operational surface, on a real service process (distributed mode): readiness follows the database
 * and the brokers both ways within 10 s, /metrics serves the bus, outbox, quarantine, lag and dead-letter series, and
 * every log line is one JSON object with unique keys.
 */
jest.setTimeout(180_000);

const SECRET = 'x'.repeat(32);
let cluster: KafkaMockCluster;
let db: TestDatabase;
let dbProxy: TcpProxy;
let proc: SpawnedProcess;
let url: string;

const within10s = { timeoutMs: 10_000, intervalMs: 250 };
const readiness = async () => (await fetch(`${url}/health/ready`)).status;
const scrape = async () => (await fetch(`${url}/metrics`)).text();
/** The value of the one series of `name` whose labels include all of `labels`. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

beforeAll(async () => {
  const entry = await buildApp('apps/conversations');
  [cluster, db] = await Promise.all([startKafkaMockCluster({ brokers: 1 }), createTestDatabase('mb_ops')]);
  const target = new URL(db.url);
  dbProxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  target.host = `127.0.0.1:${dbProxy.port}`;
  proc = spawnNode(entry, [], {
    KAFKA_BROKERS: cluster.bootstrapServers.join(','),
    KAFKA_IDEMPOTENT_PRODUCER: 'false',
    DATABASE_URL: target.toString(),
    AUTH_JWT_SECRET: SECRET,
    INTERNAL_API_TOKEN: 'y'.repeat(32),
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  });
  url = (await proc.waitFor(/"url":"(http:\/\/[^"]+)","msg":"conversations listening"/, 90_000))[1];
  await expectEventually(async () => expect(await readiness()).toBe(200), { timeoutMs: 60_000 });
});
afterAll(async () => {
  cluster?.resume();
  await dbProxy?.restore().catch(() => undefined);
  await proc?.stop();
  await dbProxy?.close();
  await cluster?.stop();
  await db?.drop();
});

describe('a service process: readiness, metrics, logs', () => {
  it('/metrics serves the bus series, outbox depth and age, quarantine, consumer lag and dead letters, and they move', async () => {
    let body = await scrape();
    for (const name of [
      'mailbridge_outbox_depth',
      'mailbridge_outbox_oldest_age_seconds',
      'mailbridge_quarantine_items',
      'mailbridge_consumer_lag',
      'mailbridge_dead_letters',
      'mailbridge_events_dead_lettered_total',
    ])
      expect(body).toContain(`# TYPE ${name} `);
    expect(sample(body, 'mailbridge_consumer_lag', { topic: Topics.syncMessages })).toBe(0);
    expect(sample(body, 'mailbridge_quarantine_items', { status: 'quarantined' })).toBe(0);

    // An event that fails validation: dead-lettered by each of the service's two groups on the topic, counted and kept.
    const producer = new KafkaEventBus({
      brokers: cluster.bootstrapServers,
      clientId: 'ops-test',
      catalog: eventCatalog,
      logger: createLogger({ service: 'ops-test', level: 'silent' }),
      idempotent: false,
    });
    try {
      await producer.publishRaw(Topics.syncMessages, [{ key: 'k', value: '{"not":"an envelope"}' }]);
    } finally {
      await producer.close();
    }
    await expectEventually(async () => {
      body = await scrape();
      for (const group of ['conversations.synced-messages', 'conversations.skipped-messages'])
        expect(
          sample(body, 'mailbridge_events_dead_lettered_total', { topic: Topics.syncMessages, group }),
        ).toBe(1);
      expect(sample(body, 'mailbridge_dead_letters', { topic: Topics.syncMessages })).toBe(2);
    });

    // A quarantined event (as the platform's consumer binding records it) is counted from the table.
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      await pg.query(
        `INSERT INTO conversations.quarantine (id, consumer_group, stage, topic, event_id, event_type, event_version,
           event_key, envelope, error_code, error_class, error_message, attempts)
         VALUES ($1, 'conversations.test', 'conversations.test', $2, $3, 'test.failed', 1, 'k', '{}', 'boom', 'Error',
           'boom', 5)`,
        [randomUUID(), Topics.syncMessages, randomUUID()],
      );
    } finally {
      await pg.end();
    }
    expect(sample(await scrape(), 'mailbridge_quarantine_items', { status: 'quarantined' })).toBe(1);
  });

  it('is not ready within 10 s of losing the brokers, keeps the events in its outbox, and is ready within 10 s of their return', async () => {
    cluster.pause();
    await expectEventually(async () => expect(await readiness()).toBe(503), within10s);

    const token = jwt.sign({ loc: 'loc_ops' }, SECRET, { subject: 'usr_ops', algorithm: 'HS256' });
    const put = await fetch(`${url}/v1/locations/loc_ops/contacts/ct_ops`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.com', assignedUserId: 'usr_ops' }),
    });
    expect(put.status).toBe(201);
    await expectEventually(async () => {
      const body = await scrape();
      expect(sample(body, 'mailbridge_outbox_depth')).toBeGreaterThanOrEqual(1);
      expect(sample(body, 'mailbridge_outbox_oldest_age_seconds')).toBeGreaterThan(0);
    });

    cluster.resume();
    await expectEventually(async () => expect(await readiness()).toBe(200), within10s);
    await expectEventually(async () => expect(sample(await scrape(), 'mailbridge_outbox_depth')).toBe(0), {
      timeoutMs: 30_000,
    });
  });

  it('is not ready within 10 s of losing its database, and ready within 10 s of its return', async () => {
    await dbProxy.cut();
    await expectEventually(async () => expect(await readiness()).toBe(503), within10s);
    await dbProxy.restore();
    await expectEventually(async () => expect(await readiness()).toBe(200), within10s);
  });

  it('writes every log line as one JSON object with unique keys', async () => {
    expect(await proc.stop()).toBe(0);
    const lines = proc.stdout().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(10);
    const bad = lines.filter((line) => {
      try {
        return duplicateJsonKeys(line).length > 0;
      } catch {
        return true;
      }
    });
    expect(bad).toEqual([]);
  });
});
