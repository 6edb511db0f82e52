import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import {
  EventEnvelope,
  Topics,
  connectionConnectedV1,
  conversationIdFor,
  eventCatalog,
  messageStateChangedV1,
  messageStateChangeFailedV1,
  messageStateChangeRequestedV1,
  messageSyncedV1,
  type PayloadOf,
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
import { EventLog, ServiceUnderTest, startServiceUnderTest } from '@mailbridge/testing-services';
import { connection, synced } from '../testing/events';
import { query } from '../testing/harness';
import { conversationsService } from '../service';

const LOC = 'loc_state';
const HIDING = 'loc_hide';

/**
 * SYN-7 in conversations, fed over Kafka (mock cluster + PostgreSQL): mailbox state changes land on the CRM message
 * (last writer wins, a deletion flags and never erases), the CRM's read/unread routes ask mail-gateway to apply the
 * change, and a change the mailbox could not take is a sync event.
 */
describe('conversations: mailbox state both ways (SYN-7)', () => {
  let kafka: KafkaMockCluster;
  let db: TestDatabase;
  let objectDir: string;
  let svc: ServiceUnderTest;
  let serviceBus: KafkaEventBus;
  let producer: KafkaEventBus;
  let observer: KafkaEventBus;
  const log = new EventLog();
  const conn = connection({ locationId: LOC, userId: 'usr_sam' });
  const hidingConn = connection({ locationId: HIDING, userId: 'usr_sam' });

  beforeAll(async () => {
    kafka = await startKafkaMockCluster();
    db = await createTestDatabase();
    objectDir = await mkdtemp(path.join(tmpdir(), 'mb-conv-state-'));
    const bus = (clientId: string) =>
      new KafkaEventBus({
        brokers: kafka.bootstrapServers,
        clientId,
        catalog: eventCatalog,
        logger: createLogger({ service: clientId, level: 'silent' }),
        idempotent: false,
      });
    serviceBus = bus('conversations');
    producer = bus('other-services');
    observer = bus('observer');
    await observer.subscribe({
      groupId: 'test.observer',
      topics: [Topics.conversationsMailboxState],
      handler: async (event) => {
        log.events.push(event);
      },
    });
    svc = await startServiceUnderTest(conversationsService, {
      databaseUrl: db.url,
      bus: serviceBus,
      env: { OBJECT_STORE_DIR: objectDir, MAILBOX_DELETED_HIDE_LOCATIONS: HIDING },
    });
    const connected = [conn, hidingConn].map((c) =>
      eventCatalog.create(connectionConnectedV1, { connection: c }),
    );
    await publish(...connected);
    await handled('connections-projection', ...connected);
  });
  afterAll(async () => {
    await svc?.close();
    await serviceBus?.close();
    await producer?.close();
    await observer?.close();
    await db?.drop();
    await kafka?.stop();
    if (objectDir) await rm(objectDir, { recursive: true, force: true });
  });

  const http = () => request(svc.app.getHttpServer());
  const token = (loc = LOC) => svc.token(loc, 'usr_sam');
  const publish = (...events: EventEnvelope[]) =>
    producer.publish(
      events.map((e) => ({ topic: eventCatalog.find(e.type, e.version)!.topic, envelope: e })),
    );
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

  /** A synced mailbox message of contact `contactId` (through `c`); answers its CRM id and provider id. */
  const syncedMessage = async (contactId: string, c = conn) => {
    const e = eventCatalog.create(
      messageSyncedV1,
      synced(c.locationId, contactId, { connectionId: c.connectionId }),
    );
    await publish(e);
    await handled('synced-messages', e);
    return { id: e.payload.deliveryId, providerId: e.payload.message.providerMessageId };
  };
  const stateChanged = (
    providerMessageId: string,
    state: PayloadOf<typeof messageStateChangedV1>['state'],
    changed: PayloadOf<typeof messageStateChangedV1>['changed'],
    changedAt: string,
    c = conn,
  ) =>
    eventCatalog.create(messageStateChangedV1, {
      mailboxId: '0f0e0d0c-0b0a-4908-8706-050403020100',
      mailboxKey: c.mailboxKey,
      connections: [{ connectionId: c.connectionId, locationId: c.locationId, userId: c.userId }],
      provider: c.provider,
      providerMessageId,
      state,
      changed,
      changedAt,
    });
  const getMessage = async (id: string, loc = LOC) => {
    const res = await http()
      .get(`/v1/locations/${loc}/messages/${id}`)
      .set('Authorization', `Bearer ${token(loc)}`);
    expect(res.status).toBe(200);
    return res.body as { mailboxState: Record<string, unknown> | null };
  };

  it('SYN-7: mailbox read, trash and deletion show on the CRM message in order; an older or repeated change is ignored; a deletion flags, never erases', async () => {
    const m = await syncedMessage('ct_ann');
    expect((await getMessage(m.id)).mailboxState).toBeNull();
    const read = stateChanged(
      m.providerId,
      { read: true, trashed: false, deleted: false },
      ['read'],
      '2026-12-06T09:00:00.000Z',
    );
    await publish(read);
    await handled('mailbox-state', read);
    expect((await getMessage(m.id)).mailboxState).toEqual({
      read: true,
      trashed: false,
      deleted: false,
      changedAt: '2026-12-06T09:00:00.000Z',
    });
    // An older unread (delivered late) and a repeat change nothing.
    const older = stateChanged(
      m.providerId,
      { read: false, trashed: false, deleted: false },
      ['read'],
      '2026-12-06T08:59:00.000Z',
    );
    await publish(older, read);
    await handled('mailbox-state', older);
    expect((await getMessage(m.id)).mailboxState).toMatchObject({ read: true });
    const trashed = stateChanged(
      m.providerId,
      { read: true, trashed: true, deleted: false },
      ['trashed'],
      '2026-12-06T09:01:00.000Z',
    );
    const deleted = stateChanged(
      m.providerId,
      { read: true, trashed: true, deleted: true },
      ['deleted'],
      '2026-12-06T09:02:00.000Z',
    );
    await publish(trashed, deleted);
    await handled('mailbox-state', trashed, deleted);
    expect((await getMessage(m.id)).mailboxState).toEqual({
      read: true,
      trashed: true,
      deleted: true,
      changedAt: '2026-12-06T09:02:00.000Z',
    });
    // Still listed (the default policy flags), with its content.
    const list = await http()
      .get(`/v1/locations/${LOC}/conversations/${conversationIdFor(LOC, 'ct_ann')}/messages`)
      .set('Authorization', `Bearer ${token()}`);
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(m.id);
  });

  it('SYN-7 / CON-4: a change to a message synced through a connection that has since ended is not applied (its thread no longer syncs)', async () => {
    const m = await syncedMessage('ct_old');
    // The mailbox is watched by a new connection of the same user now (disconnect, then reconnect).
    const reconnected = { ...conn, connectionId: '7d6c5b4a-3928-4716-a504-f3e2d1c0b9a8' };
    const change = stateChanged(
      m.providerId,
      { read: true, trashed: false, deleted: false },
      ['read'],
      '2026-12-06T10:00:00.000Z',
      reconnected,
    );
    await publish(change);
    await handled('mailbox-state', change);
    expect((await getMessage(m.id)).mailboxState).toBeNull();
  });

  it('SYN-7: a location whose policy hides mailbox deletions leaves the message out of the list, still readable by id', async () => {
    const kept = await syncedMessage('ct_hid', hidingConn);
    const gone = await syncedMessage('ct_hid', hidingConn);
    const deleted = stateChanged(
      gone.providerId,
      { read: false, trashed: false, deleted: true },
      ['deleted'],
      new Date().toISOString(),
      hidingConn,
    );
    await publish(deleted);
    await handled('mailbox-state', deleted);
    const list = await http()
      .get(`/v1/locations/${HIDING}/conversations/${conversationIdFor(HIDING, 'ct_hid')}/messages`)
      .set('Authorization', `Bearer ${token(HIDING)}`);
    expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([kept.id]);
    expect((await getMessage(gone.id, HIDING)).mailboxState).toMatchObject({ deleted: true });
  });

  it('SYN-7: PATCH a message read marks it at once and asks mail-gateway to apply it; a later mailbox unread wins, an earlier one does not', async () => {
    const m = await syncedMessage('ct_bo');
    const res = await http()
      .patch(`/v1/locations/${LOC}/messages/${m.id}`)
      .set('Authorization', `Bearer ${token()}`)
      .send({ read: true });
    expect(res.status).toBe(200);
    expect(res.body.mailboxState).toMatchObject({ read: true, trashed: false, deleted: false });
    const [req] = await log.waitFor(messageStateChangeRequestedV1, (p) =>
      p.messages.some((x) => x.messageId === m.id),
    );
    expect(req).toMatchObject({
      locationId: LOC,
      mailboxKey: conn.mailboxKey,
      connectionId: conn.connectionId,
      read: true,
      messages: [{ messageId: m.id, providerMessageId: m.providerId }],
    });
    const stale = stateChanged(
      m.providerId,
      { read: false, trashed: false, deleted: false },
      ['read'],
      '2020-01-01T00:00:00.000Z',
    );
    await publish(stale);
    await handled('mailbox-state', stale);
    expect((await getMessage(m.id)).mailboxState).toMatchObject({ read: true });
    const later = stateChanged(
      m.providerId,
      { read: false, trashed: false, deleted: false },
      ['read'],
      new Date(Date.now() + 1000).toISOString(),
    );
    await publish(later);
    await handled('mailbox-state', later);
    expect((await getMessage(m.id)).mailboxState).toMatchObject({ read: false });
  });

  it('SYN-7: PATCH a conversation marks every mailbox message of it in one request to mail-gateway', async () => {
    const a = await syncedMessage('ct_cy');
    const b = await syncedMessage('ct_cy');
    const conversationId = conversationIdFor(LOC, 'ct_cy');
    const res = await http()
      .patch(`/v1/locations/${LOC}/conversations/${conversationId}`)
      .set('Authorization', `Bearer ${token()}`)
      .send({ read: true });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ conversationId, read: true, messages: 2 });
    const [req] = await log.waitFor(messageStateChangeRequestedV1, (p) =>
      p.messages.some((x) => x.messageId === a.id),
    );
    expect(req.messages.map((x) => x.messageId).sort()).toEqual([a.id, b.id].sort());
    expect((await getMessage(b.id)).mailboxState).toMatchObject({ read: true });
  });

  it('SYN-7: bad input is a 400 with the error shape, unknown ids are 404, nothing is requested', async () => {
    const m = await syncedMessage('ct_dee');
    const before = log.events.length;
    const patch = (url: string, body: unknown) =>
      http()
        .patch(url)
        .set('Authorization', `Bearer ${token()}`)
        .send(body as object);
    for (const body of [{}, { read: 'yes' }, { read: true, extra: 1 }, { read: null }]) {
      const res = await patch(`/v1/locations/${LOC}/messages/${m.id}`, body);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'invalid_request' } });
    }
    expect((await patch(`/v1/locations/${LOC}/messages/not-a-uuid`, { read: true })).status).toBe(400);
    const unknown = await patch(`/v1/locations/${LOC}/messages/5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10`, {
      read: true,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'message_not_found' } });
    const noConv = await patch(`/v1/locations/${LOC}/conversations/5b0e8a56-8c1a-4d5e-9a7b-0c2f4e6d8a10`, {
      read: true,
    });
    expect(noConv.status).toBe(404);
    expect(noConv.body).toMatchObject({ error: { code: 'conversation_not_found' } });
    expect((await getMessage(m.id)).mailboxState).toBeNull();
    await new Promise((r) => setTimeout(r, 500));
    expect(log.events.length).toBe(before);
  });

  it('SYN-7: a change the mailbox could not take is a sync event of the location', async () => {
    const m = await syncedMessage('ct_eve');
    const failed = eventCatalog.create(messageStateChangeFailedV1, {
      requestId: '4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a',
      locationId: LOC,
      connectionId: conn.connectionId,
      mailboxKey: conn.mailboxKey,
      messageId: m.id,
      providerMessageId: m.providerId,
      read: true,
      reason: 'message_not_found',
      detail: 'The message no longer exists in the mailbox',
      failedAt: new Date().toISOString(),
    });
    await publish(failed);
    await handled('state-change-failures', failed);
    const res = await http()
      .get(`/v1/locations/${LOC}/sync-events`)
      .set('Authorization', `Bearer ${token()}`);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'state_change_failed', reason: 'message_not_found', rule: 'SYN-7' }),
      ]),
    );
  });
});
