import { createHash } from 'node:crypto';
import request from 'supertest';
import { conversationIdFor, eventCatalog, messageSyncedV1 } from '@mailbridge/contracts';
import { InProcessEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import { LocalFolderObjectStore } from '@mailbridge/platform-object-store';
import { ServiceUnderTest, startServiceUnderTest } from '@mailbridge/testing-services';
import { synced } from './testing/events';
import { EXE, PDF, PNG } from './testing/files';
import { Harness, startHarness } from './testing/harness';
import { validateOpenApi } from './testing/openapi-validator';
import { conversationsService } from './service';

const A = 'loc_a';
const B = 'loc_b';

/** The CRM routes of http-api.md's conversations table, with the error statuses each must document. */
const CONTRACT: ReadonlyArray<[method: string, path: string, errors: readonly number[]]> = [
  ['put', '/v1/locations/{locationId}/contacts/{contactId}', [400]],
  ['delete', '/v1/locations/{locationId}/contacts/{contactId}', [404]],
  ['get', '/v1/locations/{locationId}/contacts/{contactId}', [404]],
  ['get', '/v1/locations/{locationId}/contacts', [400]],
  ['post', '/v1/locations/{locationId}/contacts/{contactId}/emails', [400, 404, 409, 413, 422]],
  ['post', '/v1/locations/{locationId}/uploads', [400, 422]],
  ['get', '/v1/locations/{locationId}/conversations', [400]],
  ['get', '/v1/locations/{locationId}/conversations/{conversationId}/messages', [400, 404]],
  ['get', '/v1/locations/{locationId}/messages/{messageId}', [400, 404]],
  ['get', '/v1/locations/{locationId}/attachments/{attachmentId}', [400, 404]],
  ['get', '/v1/locations/{locationId}/sync-events', [400]],
  ['get', '/v1/locations/{locationId}/sync-exclusions', [400]],
  ['put', '/v1/locations/{locationId}/sync-exclusions', [400]],
  ['patch', '/v1/locations/{locationId}/messages/{messageId}', [400, 404, 409]],
  ['patch', '/v1/locations/{locationId}/conversations/{conversationId}', [400, 404]],
];

describe('conversations: the CRM API as a whole (tenancy, OpenAPI, limits)', () => {
  let h: Harness;
  let tokenA: string;
  let tokenB: string;
  /** Location A's data, which location B must never reach. */
  const ids = {
    contactId: 'ct_a',
    conversationId: conversationIdFor(A, 'ct_a'),
    messageId: '',
    attachmentId: '',
    omittedAttachmentId: '',
    uploadId: '',
  };

  beforeAll(async () => {
    h = await startHarness();
    tokenA = h.svc.token(A, 'usr_a');
    tokenB = h.svc.token(B, 'usr_b');
    await h
      .http()
      .put(`/v1/locations/${A}/contacts/ct_a`)
      .set('Authorization', `Bearer ${tokenA}`)
      .send({ email: 'ann@example.com' })
      .expect(201);
    const png = await new LocalFolderObjectStore(h.objectDir).put(PNG, { contentType: 'image/png' });
    const message = synced(A, 'ct_a', {
      message: {
        attachments: [
          {
            objectKey: png.key,
            sha256: png.sha256,
            filename: 'photo.PNG',
            contentType: 'application/octet-stream',
            detectedKind: 'png',
            size: png.size,
          },
          {
            filename: 'tool.exe',
            contentType: 'application/x-msdownload',
            detectedKind: 'unknown',
            size: EXE.length,
            omittedReason: 'attachment_type_unsupported',
          },
        ],
      },
    });
    await h.publish(messageSyncedV1, message);
    ids.messageId = message.deliveryId;
    const got = await h
      .http()
      .get(`/v1/locations/${A}/messages/${ids.messageId}`)
      .set('Authorization', `Bearer ${tokenA}`)
      .expect(200);
    ids.attachmentId = got.body.attachments[0].id;
    ids.omittedAttachmentId = got.body.attachments[1].id;
    const upload = await h
      .http()
      .post(`/v1/locations/${A}/uploads`)
      .set('Authorization', `Bearer ${tokenA}`)
      .attach('file', PDF, 'a.pdf')
      .expect(201);
    ids.uploadId = upload.body.uploadId;
  });
  afterAll(async () => {
    await h?.close();
  });

  const call = (token: string, method: string, path: string) => {
    const r = h.http();
    const req =
      method === 'get'
        ? r.get(path)
        : method === 'put'
          ? r.put(path)
          : method === 'post'
            ? r.post(path)
            : method === 'patch'
              ? r.patch(path)
              : r.delete(path);
    return req.set('Authorization', `Bearer ${token}`).set('Idempotency-Key', `k-${Math.random()}`);
  };
  const pathFor = (template: string, location: string) =>
    template
      .replace('{locationId}', location)
      .replace('{contactId}', ids.contactId)
      .replace('{conversationId}', ids.conversationId)
      .replace('{messageId}', ids.messageId)
      .replace('{attachmentId}', ids.attachmentId);
  const bodyFor = (method: string, template: string) =>
    template.endsWith('/emails')
      ? {
          kind: 'individual',
          userId: 'usr_b',
          subject: 'x',
          replyToMessageId: ids.messageId,
          attachments: [{ uploadId: ids.uploadId }],
        }
      : method === 'put'
        ? { email: 'b@example.com' }
        : method === 'patch'
          ? { read: true }
          : undefined;

  it('tenancy: a token of location B gets 403 on every route of location A, whatever the ids', async () => {
    const doc = (await h.http().get('/docs-json').expect(200)).body as { paths: Record<string, object> };
    const documented = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/v1/'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    // Every route the service serves is walked, so a route added later cannot skip this test.
    expect(documented.sort()).toEqual(CONTRACT.map(([m, p]) => `${m} ${p}`).sort());

    for (const [method, template] of CONTRACT) {
      const body = bodyFor(method, template);
      const req = call(tokenB, method, pathFor(template, A));
      const res = template.endsWith('/uploads')
        ? await req.attach('file', PDF, 'b.pdf')
        : await req.send(body);
      expect({ route: `${method} ${template}`, status: res.status, code: res.body.error?.code }).toEqual({
        route: `${method} ${template}`,
        status: 403,
        code: 'location_forbidden',
      });
    }
  });

  it("tenancy: a token of location B on its own routes with location A's ids gets 404, and lists show none of A's data", async () => {
    const notFound: Array<[string, string, string]> = [
      ['get', `/v1/locations/${B}/contacts/${ids.contactId}`, 'contact_not_found'],
      ['delete', `/v1/locations/${B}/contacts/${ids.contactId}`, 'contact_not_found'],
      ['get', `/v1/locations/${B}/conversations/${ids.conversationId}/messages`, 'conversation_not_found'],
      ['get', `/v1/locations/${B}/messages/${ids.messageId}`, 'message_not_found'],
      ['get', `/v1/locations/${B}/attachments/${ids.attachmentId}`, 'attachment_not_found'],
      ['post', `/v1/locations/${B}/contacts/${ids.contactId}/emails`, 'contact_not_found'],
    ];
    for (const [method, path, code] of notFound) {
      const res = await call(tokenB, method, path).send(
        method === 'post' ? { kind: 'individual', userId: 'usr_b', subject: 'x' } : undefined,
      );
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 404, code });
    }
    // B's own contact: A's upload and A's message stay out of reach.
    await call(tokenB, 'put', `/v1/locations/${B}/contacts/ct_b`)
      .send({ email: 'ann@example.com' })
      .expect(201);
    const withUpload = await call(tokenB, 'post', `/v1/locations/${B}/contacts/ct_b/emails`).send({
      kind: 'individual',
      userId: 'usr_b',
      subject: 'x',
      attachments: [{ uploadId: ids.uploadId }],
    });
    expect([withUpload.status, withUpload.body.error.code]).toEqual([404, 'upload_not_found']);
    const replying = await call(tokenB, 'post', `/v1/locations/${B}/contacts/ct_b/emails`).send({
      kind: 'individual',
      userId: 'usr_b',
      subject: 'x',
      replyToMessageId: ids.messageId,
    });
    expect([replying.status, replying.body.error.code]).toEqual([404, 'reply_to_message_not_found']);

    for (const path of [
      `/v1/locations/${B}/contacts?email=ann@example.com`,
      `/v1/locations/${B}/conversations?contactId=${ids.contactId}`,
      `/v1/locations/${B}/sync-events?contactId=${ids.contactId}`,
    ]) {
      const res = await call(tokenB, 'get', path).expect(200);
      expect(JSON.stringify(res.body)).not.toContain(ids.messageId);
      expect(res.body.items.filter((i: { contactId?: string }) => i.contactId === ids.contactId)).toEqual([]);
    }
  });

  it('ATT-3: serves a synced attachment from the object store with its detected type; a left-behind one is a 404', async () => {
    const res = await h
      .http()
      .get(`/v1/locations/${A}/attachments/${ids.attachmentId}`)
      .set('Authorization', `Bearer ${tokenA}`)
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="photo.PNG"; filename*=UTF-8''photo.PNG`,
    );
    expect(
      createHash('sha256')
        .update(res.body as Buffer)
        .digest('hex'),
    ).toBe(createHash('sha256').update(PNG).digest('hex'));
    const omitted = await h
      .http()
      .get(`/v1/locations/${A}/attachments/${ids.omittedAttachmentId}`)
      .set('Authorization', `Bearer ${tokenA}`);
    expect(omitted.status).toBe(404);
    expect(omitted.body.error).toMatchObject({
      code: 'attachment_omitted',
      details: { omittedReason: 'attachment_type_unsupported' },
    });
    const listed = await h
      .http()
      .get(`/v1/locations/${A}/messages/${ids.messageId}`)
      .set('Authorization', `Bearer ${tokenA}`);
    expect(listed.body.attachments).toEqual([
      { id: ids.attachmentId, filename: 'photo.PNG', contentType: 'image/png', size: PNG.length },
      {
        id: ids.omittedAttachmentId,
        filename: 'tool.exe',
        contentType: 'application/x-msdownload',
        size: EXE.length,
        omittedReason: 'attachment_type_unsupported',
      },
    ]);
  });

  it('lists conversations newest activity first, in cursor pages that never repeat or skip one', async () => {
    const loc = 'loc_many';
    const token = h.svc.token(loc, 'usr_m');
    for (let i = 0; i < 5; i += 1) {
      await h.publish(
        messageSyncedV1,
        synced(loc, `ct_${i}`, { message: { sentAt: `2026-11-0${i + 1}T10:00:00.000Z`, subject: `s${i}` } }),
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await h
        .http()
        .get(`/v1/locations/${loc}/conversations`)
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set('Authorization', `Bearer ${token}`)
        .expect(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((c: { contactId: string }) => c.contactId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['ct_4', 'ct_3', 'ct_2', 'ct_1', 'ct_0']);
  });

  it('refuses out-of-range list sizes, forged cursors, malformed ids and unknown parameters with 400 in the error shape', async () => {
    const get = (path: string) => h.http().get(path).set('Authorization', `Bearer ${tokenA}`);
    const cases: Array<[string, string]> = [
      [`/v1/locations/${A}/conversations?limit=101`, 'invalid_request'],
      [`/v1/locations/${A}/conversations?limit=0`, 'invalid_request'],
      [`/v1/locations/${A}/sync-events?limit=abc`, 'invalid_request'],
      [`/v1/locations/${A}/conversations?cursor=not-a-cursor`, 'invalid_cursor'],
      [`/v1/locations/${A}/conversations/${ids.conversationId}/messages?cursor=WyJ4Il0`, 'invalid_cursor'],
      [`/v1/locations/${A}/conversations/not-a-uuid/messages`, 'invalid_request'],
      [`/v1/locations/${A}/messages/123`, 'invalid_request'],
      [`/v1/locations/${A}/conversations?sort=asc`, 'invalid_request'],
      [`/v1/locations/${A}/contacts?email=a&email=b`, 'invalid_request'],
    ];
    for (const [path, code] of cases) {
      const res = await get(path);
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 400, code });
      expect(res.body.error.message).toEqual(expect.any(String));
    }
    const unknownRoute = await get(`/v1/locations/${A}/nothing-here`);
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body.error.code).toBe('not_found');
  });

  it('answers 429 rate_limited with Retry-After once a token exceeds RATE_LIMIT_PER_MINUTE, other tokens unaffected', async () => {
    const bus = new InProcessEventBus({
      catalog: eventCatalog,
      logger: createLogger({ service: 'bus', level: 'silent' }),
    });
    let limited: ServiceUnderTest | undefined;
    try {
      limited = await startServiceUnderTest(conversationsService, {
        databaseUrl: h.db.url,
        bus,
        env: { OBJECT_STORE_DIR: h.objectDir, RATE_LIMIT_PER_MINUTE: '3' },
      });
      const server = limited.app.getHttpServer();
      const token = limited.token(A, 'usr_a');
      // One budget per token across every route (each route is in a different module).
      for (const route of ['contacts', 'conversations', 'sync-events']) {
        await request(server)
          .get(`/v1/locations/${A}/${route}`)
          .set('Authorization', `Bearer ${token}`)
          .expect(200);
      }
      const refused = await request(server)
        .get(`/v1/locations/${A}/contacts`)
        .set('Authorization', `Bearer ${token}`);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      // 3 per minute: a token every 20 s, less whatever time the three requests took.
      const retryAfter = refused.body.error.details.retryAfterSeconds as number;
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(20);
      expect(refused.headers['retry-after']).toBe(String(retryAfter));
      await request(server)
        .get(`/v1/locations/${A}/contacts`)
        .set('Authorization', `Bearer ${limited.token(A, 'usr_other')}`)
        .expect(200);
    } finally {
      await limited?.close();
      await bus.close();
    }
  });

  it('the rate limit is one budget across replicas: concurrent requests to two instances are granted exactly the limit', async () => {
    const bus = new InProcessEventBus({
      catalog: eventCatalog,
      logger: createLogger({ service: 'bus', level: 'silent' }),
    });
    const replicas: ServiceUnderTest[] = [];
    try {
      for (let i = 0; i < 2; i += 1) {
        replicas.push(
          await startServiceUnderTest(conversationsService, {
            databaseUrl: h.db.url,
            bus,
            env: { OBJECT_STORE_DIR: h.objectDir, RATE_LIMIT_PER_MINUTE: '4' },
          }),
        );
      }
      const statuses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          request(replicas[i % 2].app.getHttpServer())
            .get(`/v1/locations/${A}/contacts`)
            .set('Authorization', `Bearer ${replicas[i % 2].token(A, 'usr_replicated')}`)
            .then((r) => r.status),
        ),
      );
      // In memory per process this was 8 (4 per replica).
      expect(statuses.filter((s) => s === 200)).toHaveLength(4);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6);
      // 4 per minute refill one token every 15 s: move the bucket's clock back instead of waiting.
      await h.sql(
        `UPDATE conversations.rate_limit_buckets SET refreshed_at = refreshed_at - interval '15 seconds'`,
      );
      const after = (i: number) =>
        request(replicas[i].app.getHttpServer())
          .get(`/v1/locations/${A}/contacts`)
          .set('Authorization', `Bearer ${replicas[i].token(A, 'usr_replicated')}`);
      expect((await after(1)).status).toBe(200);
      const refused = await after(0);
      expect(refused.status).toBe(429);
      // The next token is 15 s away, less the moments these requests took.
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(15);
    } finally {
      for (const r of replicas) await r.close();
      await bus.close();
    }
  });

  it('serves an OpenAPI document that validates and lists every route with its error responses and examples', async () => {
    const doc = (await h.http().get('/docs-json').expect(200)).body;
    expect(await validateOpenApi(doc)).toEqual({ valid: true });
    // The validator does catch a broken document.
    const broken = structuredClone(doc);
    delete broken.components.schemas.ErrorDto;
    expect(await validateOpenApi(broken)).toEqual({
      valid: false,
      error: expect.stringContaining('ErrorDto'),
    });
    for (const [method, path, errors] of CONTRACT) {
      const op = doc.paths[path]?.[method];
      expect({ route: `${method} ${path}`, documented: Boolean(op) }).toEqual({
        route: `${method} ${path}`,
        documented: true,
      });
      const statuses = Object.keys(op.responses).map(Number);
      expect({ route: `${method} ${path}`, statuses }).toEqual({
        route: `${method} ${path}`,
        statuses: expect.arrayContaining([401, 403, 429, ...errors]),
      });
      expect(statuses.some((s) => s >= 200 && s < 300)).toBe(true);
      expect(op.security).toEqual([{ crm: [] }]);
      for (const s of statuses.filter((x) => x >= 400)) {
        expect(op.responses[s].content['application/json'].schema).toEqual({
          $ref: '#/components/schemas/ErrorDto',
        });
      }
    }
    const send = doc.paths['/v1/locations/{locationId}/contacts/{contactId}/emails'].post;
    expect(send.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }),
      ]),
    );
    expect(send.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/SendEmailDto',
    });
    expect(doc.components.schemas.SendEmailDto.properties.subject.example).toBe('Your quote');
    expect(
      Object.keys(
        doc.paths['/v1/locations/{locationId}/attachments/{attachmentId}'].get.responses[200].content,
      ),
      // Served as the detected type (application/pdf, image/png...): any media type, binary.
    ).toEqual(['*/*']);
    expect(doc.components.schemas.MessageDto.properties.status.enum).toEqual([
      'pending',
      'sent',
      'failed',
      'received',
      'bounced',
    ]);
    expect(doc.components.schemas.MessageDto.properties.classification.enum).toEqual([
      'human',
      'auto_reply',
      'bounce',
      'bulk',
      null,
    ]);

    const ui = await h.http().get('/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });
});
