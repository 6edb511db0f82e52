import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import {
  EventEnvelope,
  Topics,
  eventCatalog,
  eventQuarantinedV1,
  messageSyncedV1,
} from '@mailbridge/contracts';
import { EventBus, InProcessEventBus, KafkaEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import {
  KafkaMockCluster,
  TestDatabase,
  createTestDatabase,
  expectEventually,
  startKafkaMockCluster,
} from '@mailbridge/testing';
import { ServiceUnderTest, startServiceUnderTest } from '@mailbridge/testing-services';
import { synced } from '../testing/events';
import { query } from '../testing/harness';
import { conversationsService } from '../service';

const LOC = 'loc_quarantine';
const POISON = 'poison: this subject cannot be stored';

interface Buses {
  /** The bus conversations consumes from. */
  readonly service: EventBus;
  /** Where the test publishes as the other services would. */
  readonly producer: EventBus;
  close(): Promise<void>;
}

const adapters: Array<[string, () => Promise<Buses>]> = [
  [
    'in-process bus',
    async () => {
      const bus = new InProcessEventBus({
        catalog: eventCatalog,
        logger: createLogger({ service: 'bus', level: 'silent' }),
        retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
      });
      return { service: bus, producer: bus, close: () => bus.close() };
    },
  ],
  [
    'Kafka (mock cluster)',
    async () => {
      const kafka: KafkaMockCluster = await startKafkaMockCluster();
      const bus = (clientId: string) =>
        new KafkaEventBus({
          brokers: kafka.bootstrapServers,
          clientId,
          catalog: eventCatalog,
          logger: createLogger({ service: clientId, level: 'silent' }),
          // The mock cluster cannot hand out producer ids (see KafkaEventBus); production keeps idempotence on.
          idempotent: false,
          retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
        });
      const service = bus('conversations');
      const producer = bus('other-services');
      return {
        service,
        producer,
        async close() {
          await service.close();
          await producer.close();
          await kafka.stop();
        },
      };
    },
  ],
];

describe.each(adapters)(
  'platform quarantine, through conversations on the %s (real PostgreSQL)',
  (_name, buses) => {
    let db: TestDatabase;
    let objectDir: string;
    let bus: Buses;
    let svc: ServiceUnderTest;

    beforeAll(async () => {
      db = await createTestDatabase();
      objectDir = await mkdtemp(path.join(tmpdir(), 'mb-quarantine-'));
      bus = await buses();
      svc = await startServiceUnderTest(conversationsService, {
        databaseUrl: db.url,
        bus: bus.service,
        env: { OBJECT_STORE_DIR: objectDir },
      });
    }, 60_000);
    afterAll(async () => {
      await svc?.close();
      await bus?.close();
      await db?.drop();
      if (objectDir) await rm(objectDir, { recursive: true, force: true });
    });

    const sql = <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
      query<T>(db.url, text, params);
    const http = () => request(svc.app.getHttpServer());
    const internal = () => `Bearer ${svc.internalApiToken}`;
    const publish = (...events: EventEnvelope[]) =>
      bus.producer.publish(events.map((envelope) => ({ topic: Topics.syncMessages, envelope })));
    /** Same contact, so the same key (conversation) and partition: order matters. */
    const message = (providerMessageId: string, subject = `about ${providerMessageId}`) =>
      eventCatalog.create(
        messageSyncedV1,
        synced(LOC, 'ct_ann', { message: { providerMessageId, subject } }),
      );
    const recorded = async (providerMessageId: string) =>
      (
        await sql<{ n: string }>(
          'SELECT count(*) AS n FROM conversations.messages WHERE provider_message_id = $1',
          [providerMessageId],
        )
      )[0].n;
    const eventually = (assertion: () => Promise<void>) => expectEventually(assertion, { timeoutMs: 30_000 });
    const quarantined = () =>
      sql<{
        id: string;
        event_id: string;
        status: string;
        attempts: number;
        stage: string;
        error_class: string;
      }>(
        'SELECT id, event_id, status, attempts, stage, error_class FROM conversations.quarantine ORDER BY first_failed_at',
      );

    // A stand-in for any fault of one event (a value the database refuses, a bug for one input): inserts of the poison
    // subject fail until the "fix" drops the trigger.
    const injectFault = () =>
      sql(`
      CREATE SEQUENCE conversations.poison_runs;
      CREATE OR REPLACE FUNCTION conversations.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.subject = '${POISON}' THEN
          PERFORM nextval('conversations.poison_runs'); -- not rolled back: counts every run of the handler
          RAISE EXCEPTION 'unsupported Unicode escape sequence';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT ON conversations.messages
        FOR EACH ROW EXECUTE FUNCTION conversations.refuse_poison();`);
    const fixFault = () => sql('DROP TRIGGER refuse_poison ON conversations.messages');
    const poisonRuns = async () =>
      (await sql<{ n: string }>('SELECT last_value AS n FROM conversations.poison_runs'))[0].n;

    let poison: EventEnvelope;

    it('SYN-10 (poison message halts a partition): a handler failing for one event quarantines it and the next events of the same key are handled', async () => {
      await injectFault();
      poison = message('gm-poison', POISON);
      const after = message('gm-after-poison');
      await publish(poison, after);

      await eventually(async () => expect(await recorded('gm-after-poison')).toBe('1'));
      expect(await recorded('gm-poison')).toBe('0');
      const items = await quarantined();
      expect(items).toEqual([
        expect.objectContaining({
          event_id: poison.id,
          status: 'quarantined',
          attempts: 2,
          stage: 'conversations.synced-messages',
          error_class: 'QueryFailedError',
        }),
      ]);
      const metrics = await http().get('/metrics');
      expect(metrics.text).toMatch(
        /mailbridge_events_quarantined_total\{[^}]*group="conversations\.synced-messages"[^}]*code="P0001"[^}]*\} 1/,
      );
    });

    it('SYN-10 (poison message never reported): the CRM sees the quarantined message in sync-events with its stage and error class', async () => {
      await eventually(async () => {
        const res = await http()
          .get(`/v1/locations/${LOC}/sync-events`)
          .set('Authorization', `Bearer ${svc.token(LOC, 'usr_sam')}`);
        expect(res.status).toBe(200);
        expect(res.body.items).toEqual([
          expect.objectContaining({
            kind: 'message_skipped',
            reason: 'quarantined',
            rule: 'SYN-10',
            contactId: 'ct_ann',
            userId: 'usr_sam',
            detail: expect.stringMatching(
              /conversations\.synced-messages.*message\.synced.*QueryFailedError/,
            ),
          }),
        ]);
      });
    });

    it('SYN-10: /internal/quarantine lists and retries only with the internal service token', async () => {
      const [item] = await quarantined();
      for (const auth of [undefined, 'Bearer wrong', `Bearer ${svc.token(LOC, 'usr_sam')}`]) {
        const list = http().get('/internal/quarantine');
        const retry = http().post(`/internal/quarantine/${item.id}/retry`);
        const [l, r] = await Promise.all(
          auth ? [list.set('Authorization', auth), retry.set('Authorization', auth)] : [list, retry],
        );
        expect([l.status, r.status]).toEqual([401, 401]);
      }
      const res = await http()
        .get('/internal/quarantine?status=quarantined')
        .set('Authorization', internal());
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual([
        expect.objectContaining({
          id: item.id,
          eventId: poison.id,
          eventType: 'message.synced',
          status: 'quarantined',
        }),
      ]);
      const bad = await http().get('/internal/quarantine?status=lost').set('Authorization', internal());
      expect(bad.status).toBe(400);
      expect((await quarantined())[0].status).toBe('quarantined'); // the refused retry did nothing

      // The operator's CLI calls the same route with the token it is given.
      const cli = await promisify(execFile)(
        process.execPath,
        [
          path.resolve(__dirname, '../../../../tools/quarantine.mjs'),
          'list',
          svc.url,
          '--status',
          'quarantined',
        ],
        { env: { ...process.env, INTERNAL_API_TOKEN: svc.internalApiToken } },
      );
      expect(JSON.parse(cli.stdout).items).toEqual([expect.objectContaining({ id: item.id })]);
    });

    it('SYN-10: a redelivery of the quarantined event neither runs it again nor quarantines it twice', async () => {
      const runs = await poisonRuns();
      // Once in its batch (rolled back with it, issue 16), then its policy's 2 attempts alone.
      expect(runs).toBe('3');
      const marker = message('gm-after-redelivery');
      await publish(poison, marker);
      await eventually(async () => expect(await recorded('gm-after-redelivery')).toBe('1'));
      expect(await quarantined()).toEqual([expect.objectContaining({ event_id: poison.id, attempts: 2 })]);
      expect(await poisonRuns()).toBe(runs);
      const notices = await sql("SELECT 1 FROM conversations.sync_events WHERE reason = 'quarantined'");
      expect(notices).toHaveLength(1);
    });

    it('SYN-10: after the fault is fixed a retry records the message exactly once; retrying the resolved item is a no-op', async () => {
      const [item] = await quarantined();
      // Retried before the fix: it fails again and stays quarantined, with the attempt counted.
      const early = await http()
        .post(`/internal/quarantine/${item.id}/retry`)
        .set('Authorization', internal());
      expect(early.status).toBe(200);
      expect(early.body).toMatchObject({
        outcome: 'failed',
        item: { status: 'quarantined', attempts: 3 },
        error: { errorClass: 'QueryFailedError' },
      });
      expect(await recorded('gm-poison')).toBe('0');

      await fixFault();
      const retried = await http()
        .post(`/internal/quarantine/${item.id}/retry`)
        .set('Authorization', internal());
      expect(retried.status).toBe(200);
      expect(retried.body).toMatchObject({ outcome: 'resolved', item: { id: item.id, status: 'resolved' } });
      expect(await recorded('gm-poison')).toBe('1');

      const again = await http()
        .post(`/internal/quarantine/${item.id}/retry`)
        .set('Authorization', internal());
      expect(again.body).toMatchObject({ outcome: 'already_resolved', item: { status: 'resolved' } });
      const marker = message('gm-after-resolve');
      await publish(poison, marker);
      await eventually(async () => expect(await recorded('gm-after-resolve')).toBe('1'));
      expect(await recorded('gm-poison')).toBe('1');
      expect(await quarantined()).toEqual([expect.objectContaining({ status: 'resolved', attempts: 3 })]);
      const list = await http()
        .get('/internal/quarantine?status=quarantined')
        .set('Authorization', internal());
      expect(list.body.items).toEqual([]);
    });
  },
);

describe('platform quarantine: a failing quarantine-notice consumer does not loop (in-process bus, real PostgreSQL)', () => {
  let db: TestDatabase;
  let objectDir: string;
  let bus: InProcessEventBus;
  let svc: ServiceUnderTest;
  const notices: EventEnvelope[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    objectDir = await mkdtemp(path.join(tmpdir(), 'mb-quarantine-loop-'));
    bus = new InProcessEventBus({
      catalog: eventCatalog,
      logger: createLogger({ service: 'bus', level: 'silent' }),
      retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
    });
    await bus.subscribe({
      groupId: 'test.notices',
      topics: [Topics.platformQuarantine],
      handler: async (e) => void notices.push(e),
    });
    svc = await startServiceUnderTest(conversationsService, {
      databaseUrl: db.url,
      bus,
      env: { OBJECT_STORE_DIR: objectDir },
    });
  });
  afterAll(async () => {
    await svc?.close();
    await bus?.close();
    await db?.drop();
    if (objectDir) await rm(objectDir, { recursive: true, force: true });
  });

  it('SYN-10: when recording the sync event of a quarantined message fails too, that notice is quarantined once and never re-announced', async () => {
    const sql = (text: string) => query<Record<string, unknown>>(db.url, text);
    await sql(`
      CREATE FUNCTION conversations.refuse_all() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused'; END $$;
      CREATE TRIGGER refuse_messages BEFORE INSERT ON conversations.messages
        FOR EACH ROW EXECUTE FUNCTION conversations.refuse_all();
      CREATE TRIGGER refuse_sync_events BEFORE INSERT ON conversations.sync_events
        FOR EACH ROW EXECUTE FUNCTION conversations.refuse_all();`);
    const poison = eventCatalog.create(messageSyncedV1, synced(LOC, 'ct_bob'));
    await bus.publish([{ topic: Topics.syncMessages, envelope: poison }]);

    await expectEventually(
      async () =>
        expect(await sql('SELECT stage, event_type FROM conversations.quarantine ORDER BY stage')).toEqual([
          { stage: 'conversations.quarantined-events', event_type: 'event.quarantined' },
          { stage: 'conversations.synced-messages', event_type: 'message.synced' },
        ]),
      { timeoutMs: 30_000 },
    );
    // Let any further notice travel (the relay polls), then check there was only the first.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(notices.filter((n) => eventCatalog.is(n, eventQuarantinedV1))).toHaveLength(1);
    expect(await sql('SELECT 1 FROM conversations.quarantine')).toHaveLength(2);
  });
});
