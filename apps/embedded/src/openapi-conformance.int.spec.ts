import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import {
  OpenApiConformance,
  SpawnedProcess,
  WORKSPACE_ROOT,
  buildApp,
  spawnNode,
  validateOpenApiDocument,
} from '@mailbridge/testing';

const SERVICES = ['identity-connections', 'mail-gateway', 'sync-engine', 'conversations'] as const;
type Service = (typeof SERVICES)[number];
const LOC = 'loc_demo';
const USER = 'usr_demo';
const OTHER_LOC = 'loc_other';
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

/**
 * The API documents match the wire: every service's /docs-json is a valid OpenAPI 3 document whose security schemes
 * are all defined, and every response the platform gives to a request of each route family (successes, and the
 * 400/401/403/404/409 it answers) has a documented status, content type and, for JSON, a body that validates
 * against the documented schema, `null` included. The platform is `npm start` with the sandbox providers, after the
 * README walkthrough (a connected mailbox, a sent email and an inbound reply), so real data flows through the routes.
 */
describe('OpenAPI documents match the wire (every service, every route family)', () => {
  let dataDir: string;
  let platform: SpawnedProcess | undefined;
  let urls: Record<Service, string>;
  let sandbox: Record<string, string>;
  let crm: string;
  let crmOther: string;
  let crmNobody: string;
  let internal: string;
  const docs = {} as Record<Service, unknown>;
  const conformance = {} as Record<Service, OpenApiConformance>;
  const problems: string[] = [];

  beforeAll(async () => {
    const entry = await buildApp('apps/embedded');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-openapi-'));
    platform = spawnNode(entry, [], {
      MAILBRIDGE_DATA_DIR: dataDir,
      MAILBRIDGE_PORT_BASE: '0',
      LOG_LEVEL: 'warn',
    });
    await platform.waitFor(/Mint a CRM token/, 120_000);
    const state = JSON.parse(await fs.readFile(path.join(dataDir, 'embedded.json'), 'utf8')) as {
      urls: Record<Service, string>;
      sandbox: Record<string, string>;
    };
    urls = state.urls;
    sandbox = state.sandbox;
    const secrets = JSON.parse(await fs.readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as {
      authJwtSecret: string;
      internalApiToken: string;
    };
    const sign = (loc: string, user = USER) =>
      jwt.sign({ loc }, secrets.authJwtSecret, { subject: user, algorithm: 'HS256', expiresIn: 3600 });
    crm = sign(LOC);
    crmOther = sign(OTHER_LOC);
    crmNobody = sign(LOC, 'usr_nobody');
    internal = secrets.internalApiToken;
    for (const service of SERVICES) {
      docs[service] = await (await fetch(`${urls[service]}/docs-json`)).json();
      conformance[service] = new OpenApiConformance(docs[service]);
    }
    // The README walkthrough: connects Sam's sandbox Gmail, sends to Casey, Casey replies.
    const run = await new Promise<{ code: number; out: string }>((resolve) =>
      execFile(
        process.execPath,
        [path.join(WORKSPACE_ROOT, 'tools', 'demo.mjs'), 'walkthrough'],
        {
          cwd: WORKSPACE_ROOT,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, MAILBRIDGE_DATA_DIR: dataDir },
          timeout: 240_000,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    expect([run.code, run.out]).toEqual([0, run.out]);
  }, 400_000);
  afterAll(async () => {
    await platform?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  type Auth = 'crm' | 'crm-other' | 'crm-nobody' | 'internal' | 'none' | 'bad';
  interface Call {
    auth?: Auth;
    body?: unknown;
    headers?: Record<string, string>;
    form?: FormData;
    raw?: string;
  }
  /** One request; its response is checked against the service's document and returned. */
  async function call(service: Service, method: string, route: string, options: Call = {}) {
    const auth = options.auth ?? (route.startsWith('/internal') ? 'internal' : 'crm');
    const token = {
      crm,
      'crm-other': crmOther,
      'crm-nobody': crmNobody,
      internal,
      none: undefined,
      bad: 'not-a-token',
    }[auth];
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | FormData | undefined;
    if (options.form) body = options.form;
    else if (options.raw !== undefined) {
      body = options.raw;
      headers['Content-Type'] ??= 'application/json';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(`${urls[service]}${route}`, {
      method: method.toUpperCase(),
      headers,
      body,
      redirect: 'manual',
    });
    const contentType = res.headers.get('content-type');
    const text = await res.text();
    let parsed: unknown = text === '' ? undefined : text;
    if (contentType?.includes('json') && text) parsed = JSON.parse(text);
    problems.push(
      ...conformance[service].check({ method, path: route, status: res.status, contentType, body: parsed }),
    );
    return {
      status: res.status,
      body: parsed as Record<string, unknown> & { items?: Record<string, unknown>[] },
    };
  }

  /** Status expectations are gathered, not thrown, so one run shows every route that answers differently. */
  const statusMismatches: string[] = [];
  function expectStatus(expected: number | undefined, what: string, res: { status: number; body: unknown }) {
    if (res.status >= 500 || (expected !== undefined && res.status !== expected))
      statusMismatches.push(
        `${what}: expected ${expected ?? '< 500'}, got ${res.status} ${JSON.stringify(res.body)}`,
      );
    return res;
  }
  async function expectCall(
    expected: number | undefined,
    service: Service,
    method: string,
    route: string,
    options: Call = {},
  ) {
    return expectStatus(
      expected,
      `${service} ${method.toUpperCase()} ${route}`,
      await call(service, method, route, options),
    );
  }

  it.each(SERVICES)(
    '%s: /docs-json is a valid OpenAPI 3 document with every security scheme defined',
    async (service) => {
      expect(await validateOpenApiDocument(docs[service])).toEqual([]);
      expect((docs[service] as { openapi: string }).openapi).toMatch(/^3\./);
    },
  );

  it('the conformance check can fail: an undocumented status, a null where none is allowed, an array for an object', () => {
    const c = new OpenApiConformance({
      openapi: '3.0.0',
      info: { title: 't', version: '1' },
      paths: {
        '/x/{id}': {
          get: {
            responses: {
              200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/X' } } } },
            },
          },
        },
      },
      components: {
        schemas: {
          X: {
            type: 'object',
            required: ['a', 'b'],
            properties: {
              a: { type: 'string', enum: ['p', 'q'], nullable: true },
              b: { type: 'object' },
              c: { nullable: true, allOf: [{ $ref: '#/components/schemas/Y' }] },
              d: { $ref: '#/components/schemas/Y', nullable: true },
            },
          },
          Y: { type: 'object', properties: { z: { type: 'string' } } },
        },
      },
    });
    const json = 'application/json; charset=utf-8';
    const ok = { a: 'p', b: {}, c: null };
    expect(c.check({ method: 'get', path: '/x/1', status: 200, contentType: json, body: ok })).toEqual([]);
    expect(c.check({ method: 'get', path: '/x/1', status: 404, contentType: json, body: {} })).toEqual([
      expect.stringContaining('status 404 is not documented'),
    ]);
    expect(
      c.check({ method: 'get', path: '/x/1', status: 200, contentType: json, body: { ...ok, a: null } }),
    ).not.toEqual([]);
    expect(
      c.check({ method: 'get', path: '/x/1', status: 200, contentType: json, body: { ...ok, b: [] } }),
    ).not.toEqual([]);
    expect(
      c.check({ method: 'get', path: '/x/1', status: 200, contentType: json, body: { ...ok, d: null } }),
    ).not.toEqual([]);
    expect(c.check({ method: 'get', path: '/y', status: 200, contentType: json, body: ok })).toEqual([
      expect.stringContaining('not documented'),
    ]);
  });

  it('every route family answers as documented: successes, 400, 401, 403, 404, 409 (bodies and null included)', async () => {
    const ct = 'ct_casey';
    // ---- conversations ---------------------------------------------------------------------------------------------
    await expectCall(200, 'conversations', 'put', `/v1/locations/${LOC}/contacts/${ct}`, {
      body: { email: 'casey@gmail.sandbox.mailbridge.test', name: 'Casey Contact', assignedUserId: USER },
    });
    await expectCall(201, 'conversations', 'put', `/v1/locations/${LOC}/contacts/ct_new`, {
      body: { email: 'new@example.com' },
    });
    await expectCall(400, 'conversations', 'put', `/v1/locations/${LOC}/contacts/ct_new`, {
      body: { email: 'not an address', extra: 1 },
    });
    await expectCall(400, 'conversations', 'put', `/v1/locations/${LOC}/contacts/ct_new`, {
      raw: '{"email":',
    });
    await expectCall(200, 'conversations', 'get', `/v1/locations/${LOC}/contacts/${ct}`);
    await expectCall(404, 'conversations', 'get', `/v1/locations/${LOC}/contacts/ct_missing`);
    await expectCall(
      200,
      'conversations',
      'get',
      `/v1/locations/${LOC}/contacts?email=casey@gmail.sandbox.mailbridge.test`,
    );
    await expectCall(401, 'conversations', 'get', `/v1/locations/${LOC}/contacts`, { auth: 'none' });
    await expectCall(401, 'conversations', 'get', `/v1/locations/${LOC}/contacts`, { auth: 'bad' });
    await expectCall(403, 'conversations', 'get', `/v1/locations/${LOC}/contacts/${ct}`, {
      auth: 'crm-other',
    });
    const conversations = await call(
      'conversations',
      'get',
      `/v1/locations/${LOC}/conversations?contactId=${ct}`,
    );
    expect(conversations.status).toBe(200);
    const conversationId = conversations.body.items![0].id as string;
    await expectCall(400, 'conversations', 'get', `/v1/locations/${LOC}/conversations?limit=abc`);
    const messages = await call(
      'conversations',
      'get',
      `/v1/locations/${LOC}/conversations/${conversationId}/messages`,
    );
    expect(messages.status).toBe(200);
    // The reply synced from the mailbox has no CRM send kind and no failure: both are null on the wire.
    const inbound = messages.body.items!.find((m) => m.direction === 'inbound')!;
    expect(inbound).toEqual(expect.objectContaining({ kind: null, failure: null }));
    await expectCall(
      404,
      'conversations',
      'get',
      `/v1/locations/${LOC}/conversations/${randomUUID()}/messages`,
    );
    await expectCall(400, 'conversations', 'get', `/v1/locations/${LOC}/conversations/not-a-uuid/messages`);
    await expectCall(200, 'conversations', 'get', `/v1/locations/${LOC}/messages/${inbound.id as string}`);
    await expectCall(404, 'conversations', 'get', `/v1/locations/${LOC}/messages/${randomUUID()}`);
    // SYN-7: read/unread from the CRM, on a message and on a whole conversation.
    await expectCall(200, 'conversations', 'patch', `/v1/locations/${LOC}/messages/${inbound.id as string}`, {
      body: { read: true },
    });
    await expectCall(400, 'conversations', 'patch', `/v1/locations/${LOC}/messages/${inbound.id as string}`, {
      body: { read: 'yes' },
    });
    await expectCall(404, 'conversations', 'patch', `/v1/locations/${LOC}/messages/${randomUUID()}`, {
      body: { read: true },
    });
    await expectCall(200, 'conversations', 'patch', `/v1/locations/${LOC}/conversations/${conversationId}`, {
      body: { read: false },
    });
    await expectCall(404, 'conversations', 'patch', `/v1/locations/${LOC}/conversations/${randomUUID()}`, {
      body: { read: true },
    });
    const form = new FormData();
    form.append('file', new Blob([PDF], { type: 'application/pdf' }), 'quote.pdf');
    const upload = await call('conversations', 'post', `/v1/locations/${LOC}/uploads`, { form });
    expect(upload.status).toBe(201);
    await expectCall(400, 'conversations', 'post', `/v1/locations/${LOC}/uploads`, { body: {} });
    const send = (key: string, body: unknown) =>
      call('conversations', 'post', `/v1/locations/${LOC}/contacts/${ct}/emails`, {
        body,
        headers: { 'Idempotency-Key': key },
      });
    const key = randomUUID();
    const sendBody = {
      kind: 'individual',
      userId: USER,
      subject: 'Quote',
      text: 'Attached.',
      attachments: [{ uploadId: upload.body.uploadId }],
    };
    const sent = await send(key, sendBody);
    expect(sent.status).toBe(202);
    expectStatus(409, 'send', await send(key, { ...sendBody, subject: 'Another' }));
    expectStatus(400, 'send', await send(randomUUID(), { kind: 'individual', userId: USER }));
    await expectCall(404, 'conversations', 'post', `/v1/locations/${LOC}/contacts/ct_missing/emails`, {
      body: sendBody,
      headers: { 'Idempotency-Key': randomUUID() },
    });
    expectStatus(
      404,
      'send',
      await send(randomUUID(), { ...sendBody, attachments: [{ uploadId: randomUUID() }] }),
    );
    const sentMessage = await call(
      'conversations',
      'get',
      `/v1/locations/${LOC}/messages/${sent.body.messageId as string}`,
    );
    expect(sentMessage.status).toBe(200);
    const attachmentId = ((sentMessage.body.attachments as { id: string }[] | undefined) ?? [])[0]?.id;
    if (attachmentId)
      await expectCall(200, 'conversations', 'get', `/v1/locations/${LOC}/attachments/${attachmentId}`);
    await expectCall(404, 'conversations', 'get', `/v1/locations/${LOC}/attachments/${randomUUID()}`);
    await expectCall(200, 'conversations', 'get', `/v1/locations/${LOC}/sync-exclusions`);
    await expectCall(200, 'conversations', 'put', `/v1/locations/${LOC}/sync-exclusions`, {
      body: { addresses: [], domains: ['bank.example'], betweenLocationUsers: false },
    });
    await expectCall(400, 'conversations', 'put', `/v1/locations/${LOC}/sync-exclusions`, {
      body: { addresses: 'nope' },
    });
    await expectCall(200, 'conversations', 'get', `/v1/locations/${LOC}/sync-events`);
    await expectCall(400, 'conversations', 'get', `/v1/locations/${LOC}/sync-events?limit=-1`);
    await expectCall(204, 'conversations', 'delete', `/v1/locations/${LOC}/contacts/ct_new`);
    await expectCall(404, 'conversations', 'delete', `/v1/locations/${LOC}/contacts/ct_new`);

    // ---- identity-connections ---------------------------------------------------------------------------------------
    const connectionBase = `/v1/locations/${LOC}/users/${USER}/email-connection`;
    const connection = await call('identity-connections', 'get', connectionBase);
    expect(connection.status).toBe(200);
    expect(connection.body.lastError).toBeNull();
    await expectCall(
      404,
      'identity-connections',
      'get',
      `/v1/locations/${LOC}/users/usr_nobody/email-connection`,
      {
        auth: 'crm-nobody',
      },
    );
    await expectCall(
      403,
      'identity-connections',
      'get',
      `/v1/locations/${LOC}/users/usr_nobody/email-connection`,
    );
    await expectCall(401, 'identity-connections', 'get', connectionBase, { auth: 'none' });
    await expectCall(403, 'identity-connections', 'get', connectionBase, { auth: 'crm-other' });
    await expectCall(200, 'identity-connections', 'patch', connectionBase, {
      body: { syncScope: 'contact_mail' },
    });
    await expectCall(400, 'identity-connections', 'patch', connectionBase, {
      body: { syncScope: 'everything' },
    });
    // SYN-8 and SND-7 routes of the connection.
    await expectCall(200, 'identity-connections', 'get', `${connectionBase}/sync-exclusions`);
    await expectCall(200, 'identity-connections', 'put', `${connectionBase}/sync-exclusions`, {
      body: { addresses: ['doctor@clinic.example'], domains: ['bank.example'] },
    });
    await expectCall(400, 'identity-connections', 'put', `${connectionBase}/sync-exclusions`, {
      body: { addresses: ['not an address'], domains: [] },
    });
    await expectCall(200, 'identity-connections', 'get', `${connectionBase}/send-as`);
    await expectCall(
      404,
      'identity-connections',
      'get',
      `/v1/locations/${LOC}/users/usr_nobody/email-connection/send-as`,
      {
        auth: 'crm-nobody',
      },
    );
    await expectCall(undefined, 'identity-connections', 'get', `${connectionBase}/audit`);
    await expectCall(200, 'identity-connections', 'post', `${connectionBase}/audit`);
    await expectCall(200, 'identity-connections', 'get', `${connectionBase}/audit`);
    await expectCall(200, 'identity-connections', 'post', `${connectionBase}/google/authorize`, {
      body: { returnUrl: 'http://localhost/demo' },
    });
    await expectCall(400, 'identity-connections', 'post', `${connectionBase}/google/authorize`, {
      body: { returnUrl: 'https://evil.example/' },
    });
    await expectCall(400, 'identity-connections', 'post', `${connectionBase}/yahoo/authorize`, { body: {} });
    await expectCall(302, 'identity-connections', 'get', '/v1/oauth/google/callback?code=x&state=forged', {
      auth: 'none',
    });
    await expectCall(404, 'identity-connections', 'get', '/v1/oauth/yahoo/callback', { auth: 'none' });
    await expectCall(200, 'identity-connections', 'get', '/v1/oauth/result?status=connected', {
      auth: 'none',
    });
    const smartBcc = await call(
      'identity-connections',
      'get',
      `/v1/locations/${LOC}/users/${USER}/smart-bcc`,
    );
    expect(smartBcc.status).toBe(200);
    await expectCall(
      200,
      'identity-connections',
      'get',
      `/internal/smart-bcc/${encodeURIComponent(smartBcc.body.address as string)}`,
    );
    await expectCall(404, 'identity-connections', 'get', '/internal/smart-bcc/bcc-nobody%40example.com');
    await expectCall(401, 'identity-connections', 'get', '/internal/smart-bcc/x', { auth: 'none' });
    const connections = await call(
      'identity-connections',
      'get',
      `/internal/connections?locationId=${LOC}&userId=${USER}`,
    );
    expect(connections.status).toBe(200);
    await expectCall(400, 'identity-connections', 'get', '/internal/connections');
    await expectCall(401, 'identity-connections', 'get', '/internal/connections?locationId=x', {
      auth: 'bad',
    });
    const connectionId = connection.body.connectionId as string;
    await expectCall(200, 'identity-connections', 'get', `/internal/connections/${connectionId}/send-as`);
    await expectCall(404, 'identity-connections', 'get', `/internal/connections/${randomUUID()}/send-as`);
    await expectCall(
      200,
      'identity-connections',
      'post',
      `/internal/connections/${connectionId}/access-token`,
      {
        body: {},
      },
    );
    await expectCall(
      404,
      'identity-connections',
      'post',
      `/internal/connections/${randomUUID()}/access-token`,
      {
        body: {},
      },
    );
    await expectCall(
      401,
      'identity-connections',
      'post',
      `/internal/connections/${connectionId}/access-token`,
      {
        auth: 'none',
        body: {},
      },
    );
    for (const service of SERVICES) {
      await expectCall(200, service, 'get', '/internal/quarantine');
      await expectCall(401, service, 'get', '/internal/quarantine', { auth: 'none' });
      await expectCall(404, service, 'post', `/internal/quarantine/${randomUUID()}/retry`);
    }

    // ---- mail-gateway ----------------------------------------------------------------------------------------------
    const mailboxKey = encodeURIComponent(`google:${connection.body.emailAddress as string}`);
    await expectCall(200, 'mail-gateway', 'post', `/internal/mailboxes/${mailboxKey}/audit`);
    await expectCall(200, 'mail-gateway', 'get', `/internal/mailboxes/${mailboxKey}/audit`);
    await expectCall(
      404,
      'mail-gateway',
      'get',
      `/internal/mailboxes/${encodeURIComponent('google:nobody@example.com')}/audit`,
    );
    await expectCall(401, 'mail-gateway', 'get', `/internal/mailboxes/${mailboxKey}/audit`, { auth: 'none' });
    await expectCall(200, 'mail-gateway', 'get', '/internal/quarantine/messages');
    await expectCall(404, 'mail-gateway', 'post', `/internal/quarantine/messages/${randomUUID()}/retry`);
    await expectCall(401, 'mail-gateway', 'post', '/v1/webhooks/gmail', {
      auth: 'none',
      body: { message: { data: 'e30=' } },
    });
    await expectCall(401, 'mail-gateway', 'post', '/v1/webhooks/gmail', { auth: 'bad', body: {} });
    await expectCall(200, 'mail-gateway', 'post', '/v1/webhooks/microsoft?validationToken=abc', {
      auth: 'none',
    });
    await expectCall(undefined, 'mail-gateway', 'post', '/v1/webhooks/microsoft', {
      auth: 'none',
      body: { value: [{ clientState: 'forged', subscriptionId: 'x' }] },
    });
    await expectCall(200, 'mail-gateway', 'post', '/v1/webhooks/microsoft/lifecycle?validationToken=abc', {
      auth: 'none',
    });
    await expectCall(undefined, 'mail-gateway', 'post', '/v1/webhooks/microsoft/lifecycle', {
      auth: 'none',
      body: { value: [] },
    });

    // ---- sync-engine -----------------------------------------------------------------------------------------------
    await expectCall(200, 'sync-engine', 'get', `/internal/contacts?locationId=${LOC}`);
    await expectCall(401, 'sync-engine', 'get', `/internal/contacts?locationId=${LOC}`, { auth: 'none' });
    await expectCall(
      undefined,
      'sync-engine',
      'get',
      `/internal/decisions?messageId=${inbound.id as string}`,
    );
    await expectCall(
      200,
      'sync-engine',
      'get',
      `/internal/bindings?locationId=${LOC}&conversationId=${conversationId}`,
    );
    await expectCall(401, 'sync-engine', 'get', '/internal/bindings', { auth: 'bad' });

    // Disconnect last (it changes what the routes above answer).
    await expectCall(200, 'identity-connections', 'delete', connectionBase, { body: { confirm: true } });

    expect({ statusMismatches, problems }).toEqual({ statusMismatches: [], problems: [] });
    // Every documented operation was exercised.
    for (const service of SERVICES) {
      const missed = conformance[service]
        .operations()
        .filter((op) => !conformance[service].exercised.has(op));
      expect({ service, missed }).toEqual({ service, missed: [] });
    }
    void sandbox;
  }, 300_000);
});
