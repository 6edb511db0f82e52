import {
  Client,
  FileUpload,
  GraphError,
  LargeFileUploadTask,
  ResponseType,
} from '@microsoft/microsoft-graph-client';
import { startSandboxProviders, type SandboxProviders } from '../index';
import { graphClient, trustExtraCa } from '../test-support/clients';
import { eventually, graphWebhookResponder, startWebhookReceiver } from '../test-support/webhook-receiver';

const USER = 'adele@contoso.sandbox.test';
const COLLEAGUE = 'lee@contoso.sandbox.test';
const GMAIL_CONTACT = 'pat@gmail.sandbox.test';
const IMMUTABLE = { Prefer: 'IdType="ImmutableId"' };

interface GraphMessageJson {
  id: string;
  subject: string;
  internetMessageId: string;
  conversationId: string;
  isDraft: boolean;
  parentFolderId: string;
  toRecipients: { emailAddress: { address: string } }[];
  internetMessageHeaders?: { name: string; value: string }[];
  body: { contentType: string; content: string };
  hasAttachments: boolean;
}

describe('Microsoft Graph emulator driven by @microsoft/microsoft-graph-client', () => {
  let sandbox: SandboxProviders;
  let env: Record<string, string>;
  let graph: Client;

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      mailboxes: [
        { provider: 'microsoft', address: USER, displayName: 'Adele Vance' },
        { provider: 'microsoft', address: COLLEAGUE },
        { provider: 'google', address: GMAIL_CONTACT, displayName: 'Pat Contact' },
      ],
      microsoft: { notificationRetry: { minBackoffMs: 20, maxBackoffMs: 50, maxAttempts: 5 } },
    });
    env = sandbox.platformEnv();
    trustExtraCa(sandbox.caCertPem);
    const token = String(sandbox.control.issueTokens(USER).access_token);
    graph = graphClient(env, () => token);
  });
  afterAll(() => sandbox.close());

  const sent = (address: string) => sandbox.control.mailbox(address).sent;
  const inbox = (address: string) => sandbox.control.mailbox(address).inbox;

  it('GET /me returns the signed-in mailbox', async () => {
    const me = await graph.api('/me').get();
    expect(me['@odata.context']).toBe(`${env.MICROSOFT_GRAPH_BASE_URL}/v1.0/$metadata#users/$entity`);
    expect(me).toMatchObject({ mail: USER, userPrincipalName: USER, displayName: 'Adele Vance' });
  });

  it('sendMail answers 202 with no body and delivers to sandbox mailboxes of both providers', async () => {
    const response: Response = await graph
      .api('/me/sendMail')
      .responseType(ResponseType.RAW)
      .post({
        message: {
          subject: 'Quarterly numbers',
          body: { contentType: 'HTML', content: '<p>See attached</p>' },
          toRecipients: [{ emailAddress: { address: GMAIL_CONTACT } }],
          ccRecipients: [{ emailAddress: { address: COLLEAGUE } }],
          bccRecipients: [{ emailAddress: { address: 'auditor@external.test' } }],
          attachments: [
            {
              '@odata.type': '#microsoft.graph.fileAttachment',
              name: 'q.csv',
              contentType: 'text/csv',
              contentBytes: Buffer.from('a,b\n1,2').toString('base64'),
            },
          ],
          internetMessageHeaders: [{ name: 'x-mailbridge-id', value: 'm-1' }],
        },
        saveToSentItems: true,
      });
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
    const copy = sent(USER).find((m) => m.subject === 'Quarterly numbers');
    expect(copy?.bcc.map((b) => b.address)).toEqual(['auditor@external.test']);
    const atContact = inbox(GMAIL_CONTACT).find((m) => m.subject === 'Quarterly numbers');
    expect(atContact).toBeDefined();
    expect(atContact?.messageId).toBe(copy?.messageId);
    expect(atContact?.bcc).toEqual([]);
    expect(atContact?.headers.find((h) => h.name.toLowerCase() === 'x-mailbridge-id')?.value).toBe('m-1');
    expect(atContact?.attachments.map((a) => a.filename)).toEqual(['q.csv']);
    expect(inbox(COLLEAGUE).some((m) => m.subject === 'Quarterly numbers')).toBe(true);
    expect(sandbox.control.outbound().some((o) => o.recipients.includes('auditor@external.test'))).toBe(true);
  });

  it('rejects standard headers in internetMessageHeaders with InvalidInternetMessageHeader', async () => {
    const error = await graph
      .api('/me/sendMail')
      .post({
        message: {
          subject: 'x',
          toRecipients: [{ emailAddress: { address: COLLEAGUE } }],
          internetMessageHeaders: [{ name: 'In-Reply-To', value: '<a@b>' }],
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect(error).toMatchObject({
      statusCode: 400,
      code: 'InvalidInternetMessageHeader',
      message: "The internet message header name 'In-Reply-To' should start with 'x-' or 'X-'.",
    });
    expect((error as GraphError).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('drafts + createReply + send keep an immutable id, the conversation and the thread headers', async () => {
    const incoming = await sandbox.control.deliver(USER, {
      from: `Pat Contact <${GMAIL_CONTACT}>`,
      subject: 'Pricing question',
      text: 'How much?',
    });
    const original: GraphMessageJson = await graph
      .api(`/me/messages/${incoming.message.id}`)
      .headers(IMMUTABLE)
      .get();
    expect(original.internetMessageId).toBe(incoming.message.messageId);

    const draft: GraphMessageJson = await graph
      .api(`/me/messages/${original.id}/createReply`)
      .headers(IMMUTABLE)
      .post({ comment: 'It is free.' });
    expect(draft.isDraft).toBe(true);
    expect(draft.subject).toBe('RE: Pricing question');
    expect(draft.conversationId).toBe(original.conversationId);
    expect(draft.toRecipients.map((r) => r.emailAddress.address)).toEqual([GMAIL_CONTACT]);

    const sentResponse: Response = await graph
      .api(`/me/messages/${draft.id}/send`)
      .headers(IMMUTABLE)
      .responseType(ResponseType.RAW)
      .post({});
    expect(sentResponse.status).toBe(202);
    const after: GraphMessageJson = await graph
      .api(`/me/messages/${draft.id}`)
      .headers(IMMUTABLE)
      .select('id,isDraft,parentFolderId,internetMessageId,conversationId,internetMessageHeaders')
      .get();
    expect(after.id).toBe(draft.id);
    expect(after.isDraft).toBe(false);
    const sentItems = await graph.api("/me/mailFolders('sentitems')").get();
    expect(after.parentFolderId).toBe(sentItems.id);
    expect(after.internetMessageHeaders?.find((h) => h.name === 'In-Reply-To')?.value).toBe(
      original.internetMessageId,
    );

    const reply = inbox(GMAIL_CONTACT).find((m) => m.subject === 'RE: Pricing question');
    expect(reply?.inReplyTo).toBe(original.internetMessageId);
    expect(reply?.references).toEqual([original.internetMessageId]);
    expect(reply?.messageId).toBe(after.internetMessageId);
  });

  it('changes the id of a sent draft when ImmutableId is not requested', async () => {
    const draft: GraphMessageJson = await graph
      .api('/me/messages')
      .post({ subject: 'Movable', toRecipients: [{ emailAddress: { address: COLLEAGUE } }] });
    await graph.api(`/me/messages/${draft.id}/send`).post({});
    const error = await graph
      .api(`/me/messages/${draft.id}`)
      .get()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 404, code: 'ErrorItemNotFound' });
  });

  it('adds inline attachments under 3 MB and larger ones through an upload session without auth', async () => {
    const draft: GraphMessageJson = await graph
      .api('/me/messages')
      .headers(IMMUTABLE)
      .post({ subject: 'Big file', toRecipients: [{ emailAddress: { address: GMAIL_CONTACT } }] });
    await graph.api(`/me/messages/${draft.id}/attachments`).post({
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: 'small.txt',
      contentBytes: Buffer.from('small').toString('base64'),
    });
    const tooBig = await graph
      .api(`/me/messages/${draft.id}/attachments`)
      .post({
        '@odata.type': '#microsoft.graph.fileAttachment',
        name: 'big.bin',
        contentBytes: Buffer.alloc(3 * 1024 * 1024 + 1).toString('base64'),
      })
      .catch((e: unknown) => e);
    expect(tooBig).toMatchObject({ statusCode: 413 });

    const big = Buffer.alloc(5 * 1024 * 1024 + 123, 7);
    const session = await LargeFileUploadTask.createUploadSession(
      graph,
      `${env.MICROSOFT_GRAPH_BASE_URL}/v1.0/me/messages/${draft.id}/attachments/createUploadSession`,
      {
        AttachmentItem: {
          attachmentType: 'file',
          name: 'big.bin',
          size: big.length,
          contentType: 'application/octet-stream',
        },
      },
    );
    expect(session.url.startsWith(`${env.MICROSOFT_GRAPH_BASE_URL}/`)).toBe(true);
    const task = new LargeFileUploadTask(
      graph,
      new FileUpload(
        big.buffer.slice(big.byteOffset, big.byteOffset + big.length) as ArrayBuffer,
        'big.bin',
        big.length,
      ),
      session,
      { rangeSize: 2 * 1024 * 1024 },
    );
    const result = await task.upload();
    expect(result.location).toMatch(/Attachments\('/);

    // Without any Authorization header, as the pre-authenticated URL allows: a chunk out of order is refused.
    const second = await LargeFileUploadTask.createUploadSession(
      graph,
      `${env.MICROSOFT_GRAPH_BASE_URL}/v1.0/me/messages/${draft.id}/attachments/createUploadSession`,
      {
        AttachmentItem: { attachmentType: 'file', name: 'x.bin', size: 10 },
      },
    );
    const put = await fetch(second.url, {
      method: 'PUT',
      headers: { 'content-range': 'bytes 5-9/10' },
      body: Buffer.alloc(5),
    });
    expect(put.status).toBe(416);
    const ok = await fetch(second.url, {
      method: 'PUT',
      headers: { 'content-range': 'bytes 0-9/10' },
      body: Buffer.alloc(10),
    });
    expect(ok.status).toBe(201);

    const list = await graph.api(`/me/messages/${draft.id}/attachments`).get();
    expect(list.value.map((a: { name: string; size: number }) => [a.name, a.size])).toEqual([
      ['small.txt', 5],
      ['big.bin', big.length],
      ['x.bin', 10],
    ]);
    await graph.api(`/me/messages/${draft.id}/send`).post({});
    const received = inbox(GMAIL_CONTACT).find((m) => m.subject === 'Big file');
    expect(received?.attachments.find((a) => a.filename === 'big.bin')?.size).toBe(big.length);
  });

  it('pages the inbox delta with https nextLink/deltaLink, reports new and removed items, and answers 410 when the state is gone', async () => {
    const box = 'delta-user@contoso.sandbox.test';
    sandbox.control.createMailbox({ provider: 'microsoft', address: box });
    const client = graphClient(env, () => String(sandbox.control.issueTokens(box).access_token));
    for (const n of [1, 2, 3]) await sandbox.control.deliver(box, { subject: `Delta ${n}`, text: 'x' });

    const pages: {
      value: { id: string; subject?: string; '@removed'?: unknown }[];
      '@odata.nextLink'?: string;
      '@odata.deltaLink'?: string;
    }[] = [];
    let page = await client
      .api("/me/mailFolders('inbox')/messages/delta")
      .select('id,subject')
      .header('Prefer', 'odata.maxpagesize=2')
      .get();
    pages.push(page);
    while (page['@odata.nextLink']) {
      expect(page['@odata.nextLink']).toMatch(/^https:\/\//);
      page = await client.api(page['@odata.nextLink']).get();
      pages.push(page);
    }
    expect(pages).toHaveLength(2);
    expect(pages.flatMap((p) => p.value.map((v) => v.subject))).toEqual(['Delta 1', 'Delta 2', 'Delta 3']);
    const deltaLink = page['@odata.deltaLink'] ?? '';
    expect(deltaLink).toMatch(/^https:\/\/.*\$deltatoken=/);

    const quiet = await client.api(deltaLink).get();
    expect(quiet.value).toEqual([]);

    await sandbox.control.deliver(box, { subject: 'Delta 4', text: 'x' });
    const gone = pages[0].value[0].id;
    await client.api(`/me/messages/${gone}`).delete();
    const changes = await client.api(quiet['@odata.deltaLink']).get();
    expect(changes.value).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ subject: 'Delta 4' }),
        expect.objectContaining({ id: gone, '@removed': { reason: 'deleted' } }),
      ]),
    );
    expect(
      Object.keys(changes.value.find((v: { subject?: string }) => v.subject === 'Delta 4')).sort(),
    ).toEqual(['@odata.etag', 'id', 'subject']);

    // Delta is per folder: Sent Items has its own round.
    await client
      .api('/me/sendMail')
      .post({ message: { subject: 'Sent one', toRecipients: [{ emailAddress: { address: COLLEAGUE } }] } });
    const sentDelta = await client.api("/me/mailFolders('sentitems')/messages/delta").select('subject').get();
    expect(sentDelta.value.map((v: { subject: string }) => v.subject)).toEqual(['Sent one']);

    sandbox.control.expireDelta(box, 'inbox');
    const error = await client
      .api(changes['@odata.deltaLink'])
      .get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect(error).toMatchObject({ statusCode: 410, code: 'syncStateNotFound' });
  });

  it('creates a subscription through the validation handshake and posts change notifications with clientState', async () => {
    const receiver = await startWebhookReceiver(graphWebhookResponder);
    try {
      const sub = await graph
        .api('/subscriptions')
        .headers(IMMUTABLE)
        .post({
          changeType: 'created',
          notificationUrl: `${receiver.url}/graph/notify?tenant=t1`,
          lifecycleNotificationUrl: `${receiver.url}/graph/lifecycle`,
          resource: "me/mailFolders('Inbox')/messages",
          expirationDateTime: new Date(Date.now() + 2 * 86_400_000).toISOString(),
          clientState: 'secret-state',
        });
      expect(sub).toMatchObject({
        changeType: 'created',
        clientState: 'secret-state',
        resource: "me/mailFolders('Inbox')/messages",
      });
      const validations = receiver.requests.filter((r) => r.url.searchParams.has('validationToken'));
      expect(validations.map((v) => v.url.pathname)).toEqual(['/graph/notify', '/graph/lifecycle']);
      expect(validations[0].url.searchParams.get('validationToken')).toContain(
        'Validation: Testing client application reachability',
      );
      expect(validations[0].headers['content-type']).toContain('text/plain');

      const delivered = await sandbox.control.deliver(USER, { subject: 'Notify me', text: 'x' });
      const notification = await eventually(() => {
        const n = receiver.requests.find(
          (r) => r.url.pathname === '/graph/notify' && !r.url.searchParams.has('validationToken'),
        );
        expect(n).toBeDefined();
        return n!;
      });
      expect(notification.url.searchParams.get('tenant')).toBe('t1');
      const item = (notification.json as { value: Record<string, unknown>[] }).value[0];
      expect(item).toMatchObject({
        subscriptionId: sub.id,
        changeType: 'created',
        clientState: 'secret-state',
        resourceData: { '@odata.type': '#Microsoft.Graph.Message', id: delivered.message.id },
      });

      const renewed = await graph
        .api(`/subscriptions/${sub.id}`)
        .patch({ expirationDateTime: new Date(Date.now() + 4000 * 60_000).toISOString() });
      expect(Date.parse(renewed.expirationDateTime)).toBeGreaterThan(Date.parse(sub.expirationDateTime));
      const tooLong = await graph
        .api(`/subscriptions/${sub.id}`)
        .patch({ expirationDateTime: new Date(Date.now() + 5000 * 60_000).toISOString() })
        .catch((e: unknown) => e);
      expect(tooLong).toMatchObject({ statusCode: 400 });

      sandbox.control.revokeTokens(USER);
      const lifecycle = await eventually(() => {
        const l = receiver.requests.find(
          (r) => r.url.pathname === '/graph/lifecycle' && !r.url.searchParams.has('validationToken'),
        );
        expect(l).toBeDefined();
        return l!;
      });
      expect((lifecycle.json as { value: Record<string, unknown>[] }).value[0]).toMatchObject({
        subscriptionId: sub.id,
        lifecycleEvent: 'reauthorizationRequired',
        clientState: 'secret-state',
      });
      await graph.api(`/subscriptions/${sub.id}/reauthorize`).post({});

      expect(sandbox.control.lifecycle({ subscriptionId: sub.id }, 'missed')).toBe(1);
      expect(sandbox.control.lifecycle({ subscriptionId: sub.id }, 'subscriptionRemoved')).toBe(1);
      await sandbox.control.notificationsIdle();
      const events = receiver.requests
        .filter((r) => r.url.pathname === '/graph/lifecycle' && r.json)
        .map((r) => (r.json as { value: { lifecycleEvent: string }[] }).value[0].lifecycleEvent);
      expect(events).toEqual(['reauthorizationRequired', 'missed', 'subscriptionRemoved']);
      const removed = await graph
        .api(`/subscriptions/${sub.id}`)
        .get()
        .catch((e: unknown) => e);
      expect(removed).toMatchObject({ statusCode: 404 });
    } finally {
      await receiver.close();
    }
  });

  it('fails subscription creation when the endpoint does not echo the decoded validation token', async () => {
    const receiver = await startWebhookReceiver((req) => ({
      status: 200,
      body: encodeURIComponent(req.url.searchParams.get('validationToken') ?? ''),
    }));
    try {
      const error = await graph
        .api('/subscriptions')
        .post({
          changeType: 'created',
          notificationUrl: `${receiver.url}/n`,
          resource: '/me/messages',
          expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
          clientState: 'c',
        })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ statusCode: 400, code: 'ValidationError' });
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('redelivers a notification the endpoint did not acknowledge', async () => {
    let failures = 1;
    const receiver = await startWebhookReceiver((req) => {
      if (req.url.searchParams.has('validationToken')) return graphWebhookResponder(req);
      return failures-- > 0 ? { status: 503 } : { status: 202 };
    });
    try {
      const box = 'retry@contoso.sandbox.test';
      sandbox.control.createMailbox({ provider: 'microsoft', address: box });
      const client = graphClient(env, () => String(sandbox.control.issueTokens(box).access_token));
      await client.api('/subscriptions').post({
        changeType: 'created',
        notificationUrl: `${receiver.url}/n`,
        resource: '/me/messages',
        expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
        clientState: 'c',
      });
      await sandbox.control.deliver(box, { subject: 'retry me', text: 'x' });
      await eventually(() =>
        expect(
          receiver.requests.filter((r) => !r.url.searchParams.has('validationToken')).map((r) => r.method),
        ).toEqual(['POST', 'POST']),
      );
      // The sandbox logs an outcome once it has read the answer, after the receiver has seen the request.
      await eventually(() =>
        expect(
          sandbox.control
            .notifications('microsoft')
            .filter((r) => r.url === `${receiver.url}/n`)
            .map((r) => r.outcome),
        ).toEqual(['nacked', 'acked']),
      );
    } finally {
      await receiver.close();
    }
  });

  it('throttles: injected 429 storms carry Retry-After, and more than 4 concurrent requests per mailbox get ApplicationThrottled', async () => {
    sandbox.control.injectFault('graph', {
      status: 429,
      count: 2,
      retryAfterSeconds: 7,
      pathIncludes: '/me',
    });
    const token = String(sandbox.control.issueTokens(USER).access_token);
    const first = await fetch(`${env.MICROSOFT_GRAPH_BASE_URL}/v1.0/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(((await first.json()) as { error: unknown }).error).toMatchObject({
      code: 'TooManyRequests',
      innerError: { 'request-id': expect.any(String) },
    });
    sandbox.control.clearFaults('graph');

    sandbox.control.setGraphLimits({ latencyMs: 500 });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 6 }, () =>
          fetch(`${env.MICROSOFT_GRAPH_BASE_URL}/v1.0/me`, {
            headers: { authorization: `Bearer ${token}` },
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: unknown } })),
        ),
      );
      const throttled = statuses.filter((s) => s.status === 429);
      expect(statuses.filter((s) => s.status === 200)).toHaveLength(4);
      expect(throttled).toHaveLength(2);
      expect(throttled[0].body.error).toMatchObject({
        code: 'ApplicationThrottled',
        message: 'Application is over its MailboxConcurrency limit.',
      });
    } finally {
      sandbox.control.setGraphLimits({ latencyMs: 0 });
    }
  });

  it('returns the raw MIME of a message with $value', async () => {
    const delivered = await sandbox.control.deliver(USER, { subject: 'Raw please', text: 'body' });
    // text/plain responses come back as text from the client.
    const raw: string = await graph.api(`/me/messages/${delivered.message.id}/$value`).get();
    expect(raw).toContain('Subject: Raw please');
  });
});
