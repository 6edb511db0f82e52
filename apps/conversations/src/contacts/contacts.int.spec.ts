import request from 'supertest';
import { EventEnvelope, Topics, eventCatalog } from '@mailbridge/contracts';
import { InProcessEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import { TestDatabase, createTestDatabase, expectEventually } from '@mailbridge/testing';
import { ServiceUnderTest, startServiceUnderTest } from '@mailbridge/testing-services';
import { conversationsService } from '../service';

describe('conversations: contacts API (real app, real PostgreSQL)', () => {
  let db: TestDatabase;
  let bus: InProcessEventBus;
  let svc: ServiceUnderTest;
  const published: EventEnvelope[] = [];
  let tokenA: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    bus = new InProcessEventBus({
      catalog: eventCatalog,
      logger: createLogger({ service: 'bus', level: 'silent' }),
    });
    await bus.subscribe({
      groupId: 'test.recorder',
      topics: [Topics.conversationsContacts],
      handler: async (e) => void published.push(e),
    });
    svc = await startServiceUnderTest(conversationsService, { databaseUrl: db.url, bus });
    tokenA = svc.token('loc_a', 'usr_1');
  });
  afterAll(async () => {
    await svc.close();
    await bus.close();
    await db.drop();
  });

  const http = () => request(svc.app.getHttpServer());

  it('creates a contact (201), publishes contact.upserted, and a repeated identical PUT changes nothing (200)', async () => {
    const body = {
      email: 'Jane.Doe@Example.com',
      name: 'Jane',
      assignedUserId: 'usr_1',
      createdAt: '2026-11-01T08:00:00.000Z',
    };
    const created = await http()
      .put('/v1/locations/loc_a/contacts/ct_jane')
      .set('Authorization', `Bearer ${tokenA}`)
      .send(body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      locationId: 'loc_a',
      contactId: 'ct_jane',
      email: 'Jane.Doe@Example.com',
      revision: 1,
    });
    await expectEventually(() => expect(published.filter((e) => e.key === 'loc_a:ct_jane')).toHaveLength(1));
    expect(published[0].payload).toMatchObject({
      email: 'Jane.Doe@Example.com',
      assignedUserId: 'usr_1',
      revision: 1,
    });
    expect(published[0].correlationId).toBe(created.headers['x-correlation-id']);

    const again = await http()
      .put('/v1/locations/loc_a/contacts/ct_jane')
      .set('Authorization', `Bearer ${tokenA}`)
      .send(body);
    expect(again.status).toBe(200);
    expect(again.body.revision).toBe(1);
    const changed = await http()
      .put('/v1/locations/loc_a/contacts/ct_jane')
      .set('Authorization', `Bearer ${tokenA}`)
      .send({ ...body, assignedUserId: 'usr_2' });
    expect(changed.body.revision).toBe(2);
    await expectEventually(() => expect(published.filter((e) => e.key === 'loc_a:ct_jane')).toHaveLength(2));
  });

  it('ADR-5: finds contacts by address case-insensitively, first-created first (ADR-3)', async () => {
    const put = (id: string, email: string, createdAt: string) =>
      http()
        .put(`/v1/locations/loc_a/contacts/${id}`)
        .set('Authorization', `Bearer ${tokenA}`)
        .send({ email, createdAt });
    await put('ct_later', 'shared@example.com', '2026-05-02T00:00:00.000Z').expect(201);
    await put('ct_first', 'SHARED@example.com', '2026-05-01T00:00:00.000Z').expect(201);
    await put('ct_plus', 'shared+tag@example.com', '2026-04-01T00:00:00.000Z').expect(201);
    const found = await http()
      .get('/v1/locations/loc_a/contacts')
      .query({ email: 'Shared@Example.COM' })
      .set('Authorization', `Bearer ${tokenA}`);
    expect(found.status).toBe(200);
    expect(found.body.items.map((c: { contactId: string }) => c.contactId)).toEqual(['ct_first', 'ct_later']);
  });

  it('deletes a contact (204), publishes contact.deleted, then answers 404', async () => {
    await http()
      .put('/v1/locations/loc_a/contacts/ct_gone')
      .set('Authorization', `Bearer ${tokenA}`)
      .send({ email: 'gone@example.com' })
      .expect(201);
    await http()
      .delete('/v1/locations/loc_a/contacts/ct_gone')
      .set('Authorization', `Bearer ${tokenA}`)
      .expect(204);
    await expectEventually(() =>
      expect(published.some((e) => e.type === 'contact.deleted' && e.key === 'loc_a:ct_gone')).toBe(true),
    );
    const res = await http()
      .get('/v1/locations/loc_a/contacts/ct_gone')
      .set('Authorization', `Bearer ${tokenA}`);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'contact_not_found', message: expect.any(String) } });
    await http()
      .delete('/v1/locations/loc_a/contacts/ct_gone')
      .set('Authorization', `Bearer ${tokenA}`)
      .expect(404);
  });

  it('answers 401 without a valid token and 403 with a token for another location, never touching data', async () => {
    const noToken = await http().get('/v1/locations/loc_a/contacts');
    expect(noToken.status).toBe(401);
    expect(noToken.body.error.code).toBe('missing_token');
    const forged = await http()
      .get('/v1/locations/loc_a/contacts')
      .set('Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x');
    expect(forged.status).toBe(401);
    const other = svc.token('loc_b', 'usr_1');
    for (const [method, path] of [
      ['get', '/v1/locations/loc_a/contacts'],
      ['get', '/v1/locations/loc_a/contacts/ct_jane'],
      ['put', '/v1/locations/loc_a/contacts/ct_jane'],
      ['delete', '/v1/locations/loc_a/contacts/ct_jane'],
    ] as const) {
      const res = await http()
        [method](path)
        .set('Authorization', `Bearer ${other}`)
        .send({ email: 'x@example.com' });
      expect({ method, path, status: res.status, code: res.body.error?.code }).toEqual({
        method,
        path,
        status: 403,
        code: 'location_forbidden',
      });
    }
    const still = await http()
      .get('/v1/locations/loc_a/contacts/ct_jane')
      .set('Authorization', `Bearer ${tokenA}`);
    expect(still.body.email).toBe('Jane.Doe@Example.com');
  });

  it('answers malformed JSON and invalid fields with 400 in the JSON error shape, never a stack trace', async () => {
    const malformed = await http()
      .put('/v1/locations/loc_a/contacts/ct_x')
      .set('Authorization', `Bearer ${tokenA}`)
      .set('Content-Type', 'application/json')
      .send('{"email": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual({
      error: { code: 'invalid_json', message: 'Request body is not valid JSON' },
    });
    const invalid = await http()
      .put('/v1/locations/loc_a/contacts/ct_x')
      .set('Authorization', `Bearer ${tokenA}`)
      .send({ email: 'not an address', extra: 1 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('invalid_request');
    expect(JSON.stringify(invalid.body.error.details)).toContain('email must be an email address');
    expect(JSON.stringify(invalid.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('serves health, metrics and its OpenAPI document', async () => {
    await http().get('/health/live').expect(200, { status: 'ok' });
    const ready = await http().get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.database.ok).toBe(true);
    const metrics = await http().get('/metrics');
    expect(metrics.text).toMatch(/http_requests_total\{[^}]*service="conversations"/);
    const doc = await http().get('/docs-json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/locations/{locationId}/contacts/{contactId}',
        '/v1/locations/{locationId}/contacts',
      ]),
    );
  });
});
