import { randomUUID } from 'node:crypto';
import { eventCatalog, messageSyncedV1, sendRequestedV1 } from '@mailbridge/contracts';
import { KafkaEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import {
  KafkaMockCluster,
  createTestDatabase,
  expectEventually,
  startKafkaMockCluster,
} from '@mailbridge/testing';
import {
  connected,
  connectionSnapshot,
  contactUpserted,
  emailRequested,
  observedEvent,
  observedMessage,
} from './testing/events';
import { Harness, queryDb, startHarness } from './testing/harness';

/** The event flow itself over a real Kafka wire protocol (librdkafka's mock cluster) and PostgreSQL. */
describe('sync-engine over Kafka (mock cluster + PostgreSQL)', () => {
  let kafka: KafkaMockCluster;
  let h: Harness;

  beforeAll(async () => {
    kafka = await startKafkaMockCluster();
    const bus = new KafkaEventBus({
      brokers: kafka.bootstrapServers,
      clientId: 'sync-engine',
      catalog: eventCatalog,
      logger: createLogger({ service: 'kafka', level: 'silent' }),
      // The mock cluster cannot hand out producer ids (see KafkaEventBus); production keeps idempotence on.
      idempotent: false,
    });
    h = await startHarness(await createTestDatabase(), bus);
  });
  afterAll(async () => {
    await h?.close();
    await kafka?.stop();
  });

  /** Waits until sync-engine has handled these events (its inbox holds their ids). */
  const handled = (...ids: string[]) =>
    expectEventually(
      async () => {
        const { rows } = await queryDb(
          h.db.url,
          'SELECT count(*)::int AS n FROM sync_engine.inbox WHERE event_id = ANY($1::uuid[])',
          [ids],
        );
        expect(rows[0].n).toBe(ids.length);
      },
      { timeoutMs: 30_000 },
    );

  it('SYN-3, SYN-5, SND-1, SND-6: observed mail and CRM requests in, synced messages and send commands out, each once', async () => {
    const connection = connectionSnapshot({ locationId: 'loc_k', emailAddress: 'sam@acme.example' });
    const setup = [
      connected(connection),
      contactUpserted({ locationId: 'loc_k', contactId: 'ct_jane', email: 'jane@example.com' }),
    ];
    await h.publish(...setup);
    await handled(...setup.map((e) => e.id));

    const inbound = observedEvent(
      observedMessage({
        mailboxId: randomUUID(),
        mailboxKey: connection.mailboxKey,
        mailboxAddress: 'sam@acme.example',
        message: { providerMessageId: 'gm-k1', providerThreadId: 'th-k', rfcMessageId: '<k1@example.com>' },
      }),
    );
    // A redelivered event (same id) and a push+poll double (new id, same message) must not sync twice.
    const double = observedEvent(inbound.payload);
    await h.publish(inbound, inbound, double);
    // A redelivered CRM request (same id) must not send twice; a later request of the same conversation shows
    // (same partition, in order) that the redelivery was handled.
    const request = emailRequested({ locationId: 'loc_k' });
    const later = emailRequested({ locationId: 'loc_k' });
    await h.publish(request, request, later);

    const [synced] = await h.log.waitFor(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-k1');
    expect(synced).toMatchObject({ locationId: 'loc_k', contactId: 'ct_jane', rule: 'SYN-3' });
    const [send] = await h.log.waitFor(sendRequestedV1, (p) => p.sendId === request.payload.messageId);
    expect(send.route).toMatchObject({ kind: 'mailbox', connectionId: connection.connectionId });
    await h.log.waitFor(sendRequestedV1, (p) => p.sendId === later.payload.messageId);

    await handled(inbound.id, double.id, request.id, later.id);
    await h.drained();
    expect(h.log.of(messageSyncedV1, (p) => p.message.providerMessageId === 'gm-k1')).toHaveLength(1);
    expect(h.log.of(sendRequestedV1, (p) => p.sendId === request.payload.messageId)).toHaveLength(1);
    const why = await h.get('/internal/decisions', { messageId: 'gm-k1' }).expect(200);
    expect(why.body.messages).toEqual([expect.objectContaining({ outcome: 'delivered', repeats: 1 })]);
  });
});
