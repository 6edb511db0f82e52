import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import {
  EventEnvelope,
  connectionConnectedV1,
  conversationIdFor,
  eventCatalog,
  mailboxAuditedV1,
  mailboxMessageQuarantinedV1,
  mailboxSyncGapV1,
  messageSkippedV1,
  messageSyncedV1,
  sendSucceededV1,
} from '@mailbridge/contracts';
import { KafkaEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import {
  KafkaMockCluster,
  TestDatabase,
  createTestDatabase,
  expectEventually,
  startKafkaMockCluster,
} from '@mailbridge/testing';
import { ServiceUnderTest, startServiceUnderTest } from '@mailbridge/testing-services';
import { connection, synced } from '../testing/events';
import { query } from '../testing/harness';
import { conversationsService } from '../service';

const LOC = 'loc_sync';

/** The event flow is the point here: conversations consumes sync-engine's and mail-gateway's events over Kafka. */
describe('conversations: recording synced messages, fed over Kafka (mock cluster + PostgreSQL)', () => {
  let kafka: KafkaMockCluster;
  let db: TestDatabase;
  let objectDir: string;
  let svc: ServiceUnderTest;
  let serviceBus: KafkaEventBus;
  let producer: KafkaEventBus;

  beforeAll(async () => {
    kafka = await startKafkaMockCluster();
    db = await createTestDatabase();
    objectDir = await mkdtemp(path.join(tmpdir(), 'mb-conv-sync-'));
    const bus = (clientId: string) =>
      new KafkaEventBus({
        brokers: kafka.bootstrapServers,
        clientId,
        catalog: eventCatalog,
        logger: createLogger({ service: clientId, level: 'silent' }),
        // The mock cluster cannot hand out producer ids (see KafkaEventBus); production keeps idempotence on.
        idempotent: false,
      });
    serviceBus = bus('conversations');
    producer = bus('other-services');
    svc = await startServiceUnderTest(conversationsService, {
      databaseUrl: db.url,
      bus: serviceBus,
      env: { OBJECT_STORE_DIR: objectDir },
    });
  });
  afterAll(async () => {
    await svc?.close();
    await serviceBus?.close();
    await producer?.close();
    await db?.drop();
    await kafka?.stop();
    if (objectDir) await rm(objectDir, { recursive: true, force: true });
  });

  const http = () => request(svc.app.getHttpServer());
  const token = () => svc.token(LOC, 'usr_sam');
  const envelope = (payload: Parameters<typeof synced>[2] & object, contactId = 'ct_ann') =>
    eventCatalog.create(messageSyncedV1, synced(LOC, contactId, payload));

  const publish = (...events: EventEnvelope[]) =>
    producer.publish(
      events.map((e) => {
        const def = eventCatalog.find(e.type, e.version);
        if (!def) throw new Error(`unknown event ${e.type}`);
        return { topic: def.topic, envelope: e };
      }),
    );

  /** Waits until conversations has handled these events (its inbox holds their ids for this consumer). */
  const handled = (consumer: string, ...events: EventEnvelope[]) =>
    expectEventually(
      async () => {
        const rows = await query(
          db.url,
          'SELECT DISTINCT event_id FROM conversations.inbox WHERE consumer = $1 AND event_id = ANY($2::uuid[])',
          [consumer, events.map((e) => e.id)],
        );
        expect(rows).toHaveLength(new Set(events.map((e) => e.id)).size);
      },
      { timeoutMs: 30_000 },
    );

  const messages = async (contactId: string, cursor?: string, limit = 100) => {
    const res = await http()
      .get(`/v1/locations/${LOC}/conversations/${conversationIdFor(LOC, contactId)}/messages`)
      .query({ limit, ...(cursor ? { cursor } : {}) })
      .set('Authorization', `Bearer ${token()}`);
    expect(res.status).toBe(200);
    return res.body as { items: Array<Record<string, unknown>>; nextCursor: string | null };
  };

  it('SYN-5: a message.synced redelivered five times, re-decided, and seen again by a poll is recorded once', async () => {
    const first = envelope({ message: { providerMessageId: 'gm-once', rfcMessageId: '<once@example.com>' } });
    // Kafka redelivers the same event five times (rebalance, retry, replay).
    await publish(first, first, first, first, first);
    // sync-engine decides again (a new event, the same deterministic delivery id)...
    const redecided = eventCatalog.create(messageSyncedV1, first.payload);
    // ...and a poll observed the same provider message and the same Message-ID (another delivery id).
    const polled = envelope({
      message: { providerMessageId: 'gm-once', rfcMessageId: '<once@example.com>' },
    });
    const otherCopy = envelope({
      message: { providerMessageId: 'gm-other-id', rfcMessageId: '<once@example.com>' },
    });
    await publish(redecided, polled, otherCopy);
    await handled('synced-messages', first, redecided, polled, otherCopy);

    const page = await messages('ct_ann');
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      id: first.payload.deliveryId,
      direction: 'inbound',
      source: 'mailbox',
      status: 'received',
      from: { name: 'Jane Doe', address: 'jane@example.com' },
      provider: { name: 'google', messageId: 'gm-once', threadId: 'thread-1' },
    });
    expect(page.items[0]).not.toHaveProperty('bcc');
  });

  it('loss path 5 / SYN-5: another message reusing a recorded Message-ID in the conversation (another sender, Date, subject) is recorded too', async () => {
    const reused = '<xxxx@broken-mailer.example>';
    const original = envelope(
      { message: { providerMessageId: 'gm-orig', rfcMessageId: reused, subject: 'Quote' } },
      'ct_reuse',
    );
    await publish(original);
    await handled('synced-messages', original);
    // Another email that carries the same Message-ID (a broken mailer): its own delivery id, its own provider id.
    const foreign = envelope(
      {
        message: {
          providerMessageId: 'gm-foreign',
          rfcMessageId: reused,
          from: { name: 'Bob', address: 'bob@example.com' },
          subject: 'Order 42',
          sentAt: '2026-11-21T08:00:00.000Z',
        },
      },
      'ct_reuse',
    );
    // The same first email seen again in another mailbox (another provider id, another delivery id): merged.
    const copy = envelope(
      { message: { providerMessageId: 'gm-orig-copy', rfcMessageId: reused, subject: 'Quote' } },
      'ct_reuse',
    );
    await publish(foreign, copy);
    await handled('synced-messages', foreign, copy);

    const page = await messages('ct_reuse');
    expect(page.items.map((m) => [m.id, m.subject])).toEqual([
      [original.payload.deliveryId, 'Quote'],
      [foreign.payload.deliveryId, 'Order 42'],
    ]);
    const metrics = await http().get('/metrics');
    expect(metrics.text).toMatch(/conversations_message_id_collisions_total\S* 1\b/);
  });

  it('SYN-6: messages delivered out of order are listed in the order they were sent, then arrival', async () => {
    const at = (iso: string, id: string, sentAt: string | null = iso) =>
      envelope(
        {
          message: { providerMessageId: id, rfcMessageId: `<${id}@x>`, sentAt, receivedAt: iso, subject: id },
        },
        'ct_order',
      );
    const events = [
      at('2026-11-20T12:00:00.000Z', 'fourth'),
      at('2026-11-20T09:00:00.000Z', 'second'),
      at('2026-11-20T10:00:00.000Z', 'third-a'),
      // No Date header: its arrival time orders it.
      at('2026-11-20T08:00:00.000Z', 'first', null),
      // The same Date as third-a, arriving later: after it.
      at('2026-11-20T10:00:00.000Z', 'third-b'),
    ];
    for (const e of events) await publish(e);
    await handled('synced-messages', ...events);
    const page = await messages('ct_order');
    expect(page.items.map((m) => m.subject)).toEqual(['first', 'second', 'third-a', 'third-b', 'fourth']);
    expect(page.items[0]).toMatchObject({ sentAt: null, receivedAt: '2026-11-20T08:00:00.000Z' });

    const list = await http()
      .get(`/v1/locations/${LOC}/conversations`)
      .query({ contactId: 'ct_order' })
      .set('Authorization', `Bearer ${token()}`)
      .expect(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        contactId: 'ct_order',
        lastMessageAt: '2026-11-20T12:00:00.000Z',
        lastSubject: 'fourth',
        messageCount: 5,
      }),
    ]);
  });

  it('SYN-6: cursor pages stay exact while messages are inserted between page reads', async () => {
    const at = (hour: number, id: string) =>
      envelope(
        {
          message: {
            providerMessageId: id,
            rfcMessageId: `<${id}@x>`,
            sentAt: `2026-11-21T${String(hour).padStart(2, '0')}:00:00.000Z`,
            subject: id,
          },
        },
        'ct_pages',
      );
    const initial = [at(1, 'p1'), at(2, 'p2'), at(3, 'p3'), at(4, 'p4'), at(5, 'p5')];
    await publish(...initial);
    await handled('synced-messages', ...initial);

    const first = await messages('ct_pages', undefined, 2);
    expect(first.items.map((m) => m.subject)).toEqual(['p1', 'p2']);
    expect(first.nextCursor).toEqual(expect.any(String));

    // Arriving now: one dated before the cursor (it belongs to the past page), one after.
    const late = [at(0, 'p0-late'), at(6, 'p6-late')];
    await publish(...late);
    await handled('synced-messages', ...late);

    const seen = first.items.map((m) => m.subject);
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await messages('ct_pages', cursor, 2);
      seen.push(...page.items.map((m) => m.subject as string));
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(['p1', 'p2', 'p3', 'p4', 'p5', 'p6-late']);
  });

  it('SYN-5: the Sent copy of a CRM send updates the pending message instead of adding one, and send.succeeded keeps it one', async () => {
    await http()
      .put(`/v1/locations/${LOC}/contacts/ct_crm`)
      .set('Authorization', `Bearer ${token()}`)
      .send({ email: 'crm.contact@example.com' })
      .expect(201);
    const conn = connection({ locationId: LOC, userId: 'usr_sam' });
    const connected = eventCatalog.create(connectionConnectedV1, { connection: conn });
    await publish(connected);
    await handled('connections-projection', connected);

    const sent = await http()
      .post(`/v1/locations/${LOC}/contacts/ct_crm/emails`)
      .set('Authorization', `Bearer ${token()}`)
      .set('Idempotency-Key', 'sent-copy-1')
      .send({ kind: 'individual', userId: 'usr_sam', subject: 'Hello', text: 'From the CRM' });
    expect(sent.status).toBe(202);
    const messageId = sent.body.messageId as string;

    const sentCopy = envelope(
      {
        direction: 'outbound',
        source: 'crm',
        crmMessageId: messageId,
        connectionId: conn.connectionId,
        rule: 'SYN-1',
        message: {
          providerMessageId: 'gm-sent-copy',
          providerThreadId: 'gt-crm',
          rfcMessageId: '<mb.sent-copy@acme.example>',
          from: { address: conn.emailAddress },
          to: [{ address: 'crm.contact@example.com' }],
          subject: 'Hello',
          sentAt: '2026-11-22T08:00:00.000Z',
        },
      },
      'ct_crm',
    );
    const succeeded = eventCatalog.create(sendSucceededV1, {
      sendId: messageId,
      locationId: LOC,
      userId: 'usr_sam',
      contactId: 'ct_crm',
      conversationId: conversationIdFor(LOC, 'ct_crm'),
      route: {
        kind: 'mailbox',
        connectionId: conn.connectionId,
        provider: 'google',
        mailboxKey: conn.mailboxKey,
        fromAddress: conn.emailAddress,
      },
      provider: 'google',
      providerMessageId: 'gm-sent-copy',
      providerThreadId: 'gt-crm',
      rfcMessageId: '<mb.sent-copy@acme.example>',
      sentAt: '2026-11-22T08:00:00.000Z',
    });
    // The mailbox copy can be seen before the delivery report: they converge either way.
    await publish(sentCopy);
    await handled('synced-messages', sentCopy);
    await publish(succeeded);
    await handled('send-outcomes', succeeded);

    const page = await messages('ct_crm');
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      id: messageId,
      direction: 'outbound',
      source: 'crm',
      status: 'sent',
      sentAt: '2026-11-22T08:00:00.000Z',
      provider: { name: 'google', messageId: 'gm-sent-copy', threadId: 'gt-crm' },
    });

    // A later reply in that thread joins the conversation after it (SYN-2, SYN-6).
    const reply = envelope(
      {
        message: {
          providerMessageId: 'gm-reply',
          rfcMessageId: '<reply@example.com>',
          inReplyTo: '<mb.sent-copy@acme.example>',
          sentAt: new Date(Date.now() + 60_000).toISOString(),
        },
      },
      'ct_crm',
    );
    await publish(reply);
    await handled('synced-messages', reply);
    expect((await messages('ct_crm')).items.map((m) => [m.direction, m.status])).toEqual([
      ['outbound', 'sent'],
      ['inbound', 'received'],
    ]);
  });

  it('SYN-2: a message the user wrote in the mailbox is listed as outbound, sent, with its Bcc', async () => {
    const own = envelope(
      {
        direction: 'outbound',
        source: 'mailbox',
        message: {
          providerMessageId: 'gm-own',
          rfcMessageId: '<own@acme.example>',
          from: { address: 'usr_sam@acme.example' },
          to: [{ address: 'ann@example.com' }],
          bcc: [{ address: 'boss@acme.example' }],
          sentAt: '2026-11-23T08:00:00.000Z',
        },
      },
      'ct_own',
    );
    await publish(own);
    await handled('synced-messages', own);
    expect((await messages('ct_own')).items).toEqual([
      expect.objectContaining({
        direction: 'outbound',
        source: 'mailbox',
        status: 'sent',
        bcc: [{ address: 'boss@acme.example' }],
      }),
    ]);
  });

  it('ATT-1: a skipped message and a sync gap (CON-5) become sync events, each only in its own location', async () => {
    const skipped = eventCatalog.create(messageSkippedV1, {
      locationId: LOC,
      userId: 'usr_sam',
      contactId: 'ct_ann',
      connectionId: null,
      mailboxKey: 'microsoft:sam@acme.example',
      providerMessageId: 'AAMk-big',
      rfcMessageId: '<big@example.com>',
      subject: 'Site photos',
      from: { address: 'ann@example.com' },
      reason: 'attachment_too_large',
      rule: 'ATT-1',
      detail: 'site.zip is 7.2 MB; Outlook attachments sync up to 3 MB',
      occurredAt: '2026-11-20T09:15:00.000Z',
    });
    const gap = eventCatalog.create(mailboxSyncGapV1, {
      mailboxId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
      mailboxKey: 'google:sam@acme.example',
      connections: [
        { connectionId: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70', locationId: LOC, userId: 'usr_sam' },
        {
          connectionId: '4f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a71',
          locationId: 'loc_elsewhere',
          userId: 'usr_sam',
        },
      ],
      from: '2026-11-10T00:00:00.000Z',
      to: '2026-11-12T06:00:00.000Z',
      reason: 'history_expired',
    });
    await publish(skipped, skipped, gap);
    await handled('skipped-messages', skipped);
    await handled('sync-gaps', gap);

    const list = await http()
      .get(`/v1/locations/${LOC}/sync-events`)
      .set('Authorization', `Bearer ${token()}`)
      .expect(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        kind: 'sync_gap',
        reason: 'history_expired',
        rule: 'CON-5',
        connectionId: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70',
        rangeFrom: '2026-11-10T00:00:00.000Z',
        rangeTo: '2026-11-12T06:00:00.000Z',
      }),
      expect.objectContaining({
        kind: 'message_skipped',
        reason: 'attachment_too_large',
        rule: 'ATT-1',
        subject: 'Site photos',
        contactId: 'ct_ann',
        from: { address: 'ann@example.com' },
        detail: 'site.zip is 7.2 MB; Outlook attachments sync up to 3 MB',
      }),
    ]);
    const byContact = await http()
      .get(`/v1/locations/${LOC}/sync-events`)
      .query({ contactId: 'ct_ann' })
      .set('Authorization', `Bearer ${token()}`)
      .expect(200);
    expect(byContact.body.items.map((e: { kind: string }) => e.kind)).toEqual(['message_skipped']);

    const elsewhere = await http()
      .get('/v1/locations/loc_elsewhere/sync-events')
      .set('Authorization', `Bearer ${svc.token('loc_elsewhere', 'usr_sam')}`)
      .expect(200);
    expect(elsewhere.body.items).toEqual([
      expect.objectContaining({ kind: 'sync_gap', connectionId: '4f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a71' }),
    ]);
  });

  it("SYN-10 loss path 1: a message quarantined by mail-gateway becomes a sync event in each connection's location", async () => {
    const quarantined = eventCatalog.create(mailboxMessageQuarantinedV1, {
      mailboxId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6e',
      mailboxKey: 'google:kim@acme.example',
      connections: [
        { connectionId: '5f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a72', locationId: 'loc_q1', userId: 'usr_kim' },
        { connectionId: '6f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a73', locationId: 'loc_q2', userId: 'usr_kim' },
      ],
      quarantineId: '6e5d4c3b-2a19-4f08-8e7d-6c5b4a392817',
      providerMessageId: '18c2f0a1b2c3d4e5',
      stage: 'gateway.pull',
      errorClass: 'QueryFailedError',
      error: 'unsupported Unicode escape sequence',
      attempts: 3,
      quarantinedAt: '2026-11-20T09:16:00.000Z',
    });
    await publish(quarantined, quarantined);
    await handled('sync-gaps', quarantined);
    for (const [loc, connectionId] of [
      ['loc_q1', '5f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a72'],
      ['loc_q2', '6f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a73'],
    ]) {
      const list = await http()
        .get(`/v1/locations/${loc}/sync-events`)
        .set('Authorization', `Bearer ${svc.token(loc, 'usr_kim')}`)
        .expect(200);
      expect(list.body.items).toEqual([
        expect.objectContaining({
          kind: 'message_skipped',
          reason: 'quarantined',
          rule: 'SYN-10',
          connectionId,
          providerMessageId: '18c2f0a1b2c3d4e5',
          detail: expect.stringContaining('gateway.pull'),
        }),
      ]);
    }
  });

  it('SYN-10: an audit that found and healed a gap becomes a sync_gap entry (counts, window); a clean audit none', async () => {
    const audited = (missing: number, status: 'complete' | 'healing') =>
      eventCatalog.create(mailboxAuditedV1, {
        mailboxId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6f',
        mailboxKey: 'google:lou@acme.example',
        connections: [
          {
            connectionId: '7f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a74',
            locationId: 'loc_audit',
            userId: 'usr_lou',
          },
        ],
        window: { from: '2026-11-19T09:28:00.000Z', to: '2026-11-20T09:28:00.000Z' },
        checkedAt: '2026-11-20T09:30:00.000Z',
        providerMessages: 42,
        accounted: { synced: 12, notSynced: 28 - missing, skipped: 0, quarantined: 0 },
        missing,
        healed: 0,
        status,
      });
    const healing = audited(2, 'healing');
    const clean = audited(0, 'complete');
    // Same mailbox, same partition: once the healing one is handled, the clean one (published first) was too.
    await publish(clean, healing);
    await handled('sync-gaps', healing);
    const list = await http()
      .get('/v1/locations/loc_audit/sync-events')
      .set('Authorization', `Bearer ${svc.token('loc_audit', 'usr_lou')}`)
      .expect(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        kind: 'sync_gap',
        reason: 'audit_healed',
        rule: 'SYN-10',
        connectionId: '7f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a74',
        userId: 'usr_lou',
        rangeFrom: '2026-11-19T09:28:00.000Z',
        rangeTo: '2026-11-20T09:28:00.000Z',
      }),
    ]);
    expect(list.body.items[0].detail).toContain('found 2 of 42 message(s)');
  });
});
