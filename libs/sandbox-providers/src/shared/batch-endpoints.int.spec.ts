import { BatchRequestContent, BatchResponseContent } from '@microsoft/microsoft-graph-client';
import { startSandboxProviders, type SandboxProviders } from '../index';
import { graphClient, trustExtraCa } from '../test-support/clients';

const GMAIL_USER = 'batch-gina@gmail.sandbox.test';
const GRAPH_USER = 'batch-olly@outlook.sandbox.test';

/** A Gmail batch body written by hand, as Google's batch guide shows it (CRLF, application/http parts). */
function gmailBatchBody(boundary: string, calls: Array<{ id: string; line: string }>): string {
  return (
    calls
      .map(
        (c) =>
          `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <${c.id}>\r\n\r\n${c.line}\r\n\r\n`,
      )
      .join('') + `--${boundary}--\r\n`
  );
}

/** Splits the multipart answer into parts: Content-ID, inner status line, inner body. */
function parseGmailBatch(contentType: string, body: string) {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1] ?? '';
  return body
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => {
      const [outer, ...rest] = part.replace(/^\r\n/, '').split('\r\n\r\n');
      const inner = rest.join('\r\n\r\n');
      const [head, ...bodyParts] = inner.split('\r\n\r\n');
      return {
        contentId: /Content-ID: (<[^>]+>)/i.exec(outer)?.[1],
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
        headers: head,
        body: bodyParts.join('\r\n\r\n').replace(/\r\n$/, ''),
      };
    });
}

describe('provider batch endpoints (Gmail HTTP batch, Graph JSON $batch)', () => {
  let sandbox: SandboxProviders;
  let gmailIds: string[];
  let graphIds: string[];

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      mailboxes: [
        { provider: 'google', address: GMAIL_USER },
        { provider: 'microsoft', address: GRAPH_USER },
      ],
    });
    trustExtraCa(sandbox.caCertPem);
    gmailIds = [];
    graphIds = [];
    for (let i = 0; i < 3; i++) {
      const g = await sandbox.control.deliver(GMAIL_USER, {
        from: 'sender@example.com',
        subject: `G${i}`,
        text: `g${i}`,
      });
      gmailIds.push(g.message.id);
      const o = await sandbox.control.deliver(GRAPH_USER, {
        from: 'sender@example.com',
        subject: `O${i}`,
        text: `o${i}`,
      });
      graphIds.push(o.message.id);
    }
  });
  afterAll(() => sandbox.close());

  const gmailToken = () => String(sandbox.control.issueTokens(GMAIL_USER).access_token);

  const postGmailBatch = (body: string, boundary: string, token = gmailToken()) =>
    fetch(`${sandbox.urls.gmail}/batch/gmail/v1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/mixed; boundary=${boundary}` },
      body,
    });

  it('Gmail batch: each call answered in its own application/http part, Content-ID echoed as response-…, a 404 inside a 200', async () => {
    const boundary = 'batch_foobarbaz';
    const res = await postGmailBatch(
      gmailBatchBody(boundary, [
        { id: 'item1', line: `GET /gmail/v1/users/me/messages/${gmailIds[0]}?format=raw` },
        { id: 'item2', line: `GET /gmail/v1/users/me/messages/0000000000000000?format=raw` },
        { id: 'item3', line: `GET /gmail/v1/users/me/messages/${gmailIds[1]}?format=metadata` },
      ]),
      boundary,
    );
    expect(res.status).toBe(200);
    const contentType = res.headers.get('content-type') ?? '';
    expect(contentType).toMatch(/^multipart\/mixed; boundary=batch_/);
    const parts = parseGmailBatch(contentType, await res.text());
    expect(parts.map((p) => [p.contentId, p.status])).toEqual([
      ['<response-item1>', 200],
      ['<response-item2>', 404],
      ['<response-item3>', 200],
    ]);
    const first = JSON.parse(parts[0].body) as { id: string; raw: string };
    expect(first.id).toBe(gmailIds[0]);
    expect(Buffer.from(first.raw, 'base64url').toString()).toContain('Subject: G0');
    expect(JSON.parse(parts[1].body)).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    expect(JSON.parse(parts[2].body)).not.toHaveProperty('raw');
  });

  it('Gmail batch: quota is charged per inner call (5 units per messages.get); calls over it get 429 inside the batch', async () => {
    // A mailbox of its own: nothing else has spent its quota this minute.
    const address = 'batch-quota@gmail.sandbox.test';
    sandbox.control.createMailbox({ provider: 'google', address });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (await sandbox.control.deliver(address, { from: 'a@example.com', subject: `Q${i}`, text: 'q' }))
          .message.id,
      );
    const token = String(sandbox.control.issueTokens(address).access_token);
    sandbox.control.setGmailQuota({ unitsPerMinute: 12, errorStatus: 429 });
    try {
      const boundary = 'b_quota';
      const res = await postGmailBatch(
        gmailBatchBody(
          boundary,
          ids.map((id, i) => ({ id: `q${i}`, line: `GET /gmail/v1/users/me/messages/${id}?format=minimal` })),
        ),
        boundary,
        token,
      );
      expect(res.status).toBe(200);
      const parts = parseGmailBatch(res.headers.get('content-type') ?? '', await res.text());
      // 5 + 5 fit in 12 units, the third call does not.
      expect(parts.map((p) => p.status)).toEqual([200, 200, 429]);
      expect(JSON.parse(parts[2].body)).toMatchObject({
        error: { errors: [{ reason: expect.stringMatching(/rateLimitExceeded$/i) }] },
      });
    } finally {
      sandbox.control.setGmailQuota({ unitsPerMinute: 15_000 });
    }
  });

  it('Gmail batch: a part may carry its own Authorization; a bad one fails that call only', async () => {
    const boundary = 'b_auth';
    const res = await postGmailBatch(
      gmailBatchBody(boundary, [
        { id: 'ok', line: `GET /gmail/v1/users/me/messages/${gmailIds[0]}?format=minimal` },
        {
          id: 'bad',
          line: `GET /gmail/v1/users/me/messages/${gmailIds[0]}?format=minimal\r\nAuthorization: Bearer nope`,
        },
      ]),
      boundary,
    );
    const parts = parseGmailBatch(res.headers.get('content-type') ?? '', await res.text());
    expect(parts.map((p) => p.status)).toEqual([200, 401]);
  });

  it('Gmail batch: more than 100 calls, a non-multipart body or a nested batch are refused', async () => {
    const boundary = 'b_many';
    const many = Array.from({ length: 101 }, (_, i) => ({
      id: `m${i}`,
      line: `GET /gmail/v1/users/me/messages/${gmailIds[0]}?format=minimal`,
    }));
    const tooMany = await postGmailBatch(gmailBatchBody(boundary, many), boundary);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({ error: { code: 400 } });
    const notMultipart = await fetch(`${sandbox.urls.gmail}/batch/gmail/v1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gmailToken()}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(notMultipart.status).toBe(400);
    const nested = await postGmailBatch(
      gmailBatchBody('b_nested', [{ id: 'n', line: 'POST /batch/gmail/v1' }]),
      'b_nested',
    );
    const parts = parseGmailBatch(nested.headers.get('content-type') ?? '', await nested.text());
    expect(parts.map((p) => p.status)).toEqual([400]);
  });

  describe('Graph $batch through the official client', () => {
    const client = () =>
      graphClient(sandbox.platformEnv(), () => String(sandbox.control.issueTokens(GRAPH_USER).access_token));
    const origin = () => new URL(sandbox.urls.graph).origin;

    it('answers each request by id with its own status; a 404 inside a 200; $value bodies come back base64', async () => {
      const content = new BatchRequestContent([
        { id: '1', request: new Request(`${origin()}/me/messages/${graphIds[0]}/$value`, { method: 'GET' }) },
        { id: '2', request: new Request(`${origin()}/me/messages/AAMkAGnope/$value`, { method: 'GET' }) },
        {
          id: '3',
          request: new Request(`${origin()}/me/messages/${graphIds[1]}?$select=subject`, { method: 'GET' }),
        },
      ]);
      const raw = (await client()
        .api('/$batch')
        .post(await content.getContent())) as {
        responses: Array<{ id: string; status: number; body?: unknown }>;
      };
      const batch = new BatchResponseContent(raw);
      const mime = batch.getResponseById('1');
      expect(mime.status).toBe(200);
      expect(Buffer.from(await mime.text(), 'base64').toString()).toContain('Subject: O0');
      const missing = batch.getResponseById('2');
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { code: 'ErrorItemNotFound' } });
      const subject = batch.getResponseById('3');
      expect(subject.status).toBe(200);
      expect(await subject.json()).toMatchObject({ subject: 'O1' });
    });

    it('dependsOn: a request whose dependency failed gets 424, one whose dependency succeeded runs', async () => {
      const raw = (await client()
        .api('/$batch')
        .post({
          requests: [
            { id: 'a', method: 'GET', url: '/me/messages/AAMkAGnope' },
            { id: 'b', method: 'GET', url: `/me/messages/${graphIds[0]}?$select=id`, dependsOn: ['a'] },
            { id: 'c', method: 'GET', url: `/me/messages/${graphIds[1]}?$select=id` },
            { id: 'd', method: 'GET', url: `/me/messages/${graphIds[2]}?$select=id`, dependsOn: ['c'] },
          ],
        })) as { responses: Array<{ id: string; status: number }> };
      expect(Object.fromEntries(raw.responses.map((r) => [r.id, r.status]))).toEqual({
        a: 404,
        b: 424,
        c: 200,
        d: 200,
      });
    });

    it('more than 20 requests, duplicate ids or unknown dependsOn are a 400 for the whole batch', async () => {
      const requests = Array.from({ length: 21 }, (_, i) => ({
        id: String(i),
        method: 'GET',
        url: `/me/messages/${graphIds[0]}`,
      }));
      for (const body of [
        { requests },
        { requests: [requests[0], requests[0]] },
        { requests: [{ ...requests[0], dependsOn: ['zz'] }] },
      ]) {
        await expect(client().api('/$batch').post(body)).rejects.toMatchObject({
          statusCode: 400,
          code: 'BadRequest',
        });
      }
    });

    it('throttling is per inner request: a 429 (with Retry-After) inside the batch, the others served', async () => {
      sandbox.control.injectFault('graph', {
        status: 429,
        count: 1,
        pathIncludes: graphIds[1],
        retryAfterSeconds: 7,
      });
      const raw = (await client()
        .api('/$batch')
        .post({
          requests: graphIds.map((id, i) => ({
            id: String(i),
            method: 'GET',
            url: `/me/messages/${id}/$value`,
          })),
        })) as { responses: Array<{ id: string; status: number; headers: Record<string, string> }> };
      expect(raw.responses.map((r) => r.status)).toEqual([200, 429, 200]);
      expect(raw.responses[1].headers['Retry-After']).toBe('7');
    });
  });
});
