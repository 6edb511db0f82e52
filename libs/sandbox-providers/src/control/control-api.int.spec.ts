import { startSandboxProviders, type MailboxView, type SandboxProviders } from '../index';
import { gmailClient, googleOAuthClient, trustExtraCa } from '../test-support/clients';

describe('control API over HTTP (/_sandbox)', () => {
  let sandbox: SandboxProviders;
  let base: string;

  const call = async <T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    root = base,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${root}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  beforeAll(async () => {
    sandbox = await startSandboxProviders();
    base = sandbox.urls.google;
    trustExtraCa(sandbox.caCertPem);
  });
  afterAll(() => sandbox.close());

  it('creates mailboxes of both providers and lists them', async () => {
    expect(
      (
        await call('POST', '/_sandbox/mailboxes', {
          provider: 'google',
          address: 'user@gmail.sandbox.test',
          displayName: 'Uma User',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call('POST', '/_sandbox/mailboxes', {
          provider: 'microsoft',
          address: 'contact@outlook.sandbox.test',
        })
      ).status,
    ).toBe(201);
    const { body } = await call<{ provider: string; address: string }[]>('GET', '/_sandbox/mailboxes');
    expect(body.map((m) => [m.provider, m.address])).toEqual([
      ['google', 'user@gmail.sandbox.test'],
      ['microsoft', 'contact@outlook.sandbox.test'],
    ]);
    const conflict = await call<{ error: string }>('POST', '/_sandbox/mailboxes', {
      provider: 'microsoft',
      address: 'user@gmail.sandbox.test',
    });
    expect(conflict.status).toBe(400);
    expect(conflict.body.error).toContain('already a google sandbox mailbox');
  });

  it('issue 16: creates many mailboxes in one call and counts the watched ones', async () => {
    const addresses = Array.from({ length: 50 }, (_, i) => `bulk${i}@gmail.sandbox.test`);
    const created = await call<{ created: number }>('POST', '/_sandbox/bulk-mailboxes', {
      provider: 'google',
      addresses,
    });
    expect(created).toEqual({ status: 201, body: { created: 50 } });
    const listed = await call<{ address: string }[]>('GET', '/_sandbox/mailboxes');
    expect(listed.body.filter((m) => m.address.startsWith('bulk')).map((m) => m.address)).toEqual(addresses);
    expect((await call('POST', '/_sandbox/bulk-mailboxes', { provider: 'google' })).status).toBe(400);
    expect((await call('GET', '/_sandbox/watched-mailboxes')).body).toEqual({ google: 0 });
    const env = sandbox.platformEnv();
    const auth = googleOAuthClient(env);
    const tokens = sandbox.control.issueTokens(addresses[7]);
    auth.setCredentials({ access_token: String(tokens.access_token) });
    await gmailClient(env, auth).users.watch({
      userId: 'me',
      requestBody: { topicName: env.GMAIL_PUBSUB_TOPIC, labelIds: ['INBOX'] },
    });
    expect((await call('GET', '/_sandbox/watched-mailboxes')).body).toEqual({ google: 1 });
  });

  it('delivers an inbound email with cc, bcc, attachments and a reply reference, and shows what the mailbox holds', async () => {
    const first = await call<{ message: { messageId: string } }>(
      'POST',
      '/_sandbox/mailboxes/user@gmail.sandbox.test/deliver',
      {
        from: 'Alex Doe <alex@example.com>',
        subject: 'Invoice 42',
        text: 'Please find the invoice.',
        html: '<p>Please find the <b>invoice</b>.</p>',
        cc: ['finance@example.com'],
        bcc: ['archive@example.com'],
        attachments: [
          {
            filename: 'invoice.pdf',
            contentType: 'application/pdf',
            contentBase64: Buffer.from('PDF').toString('base64'),
          },
        ],
      },
    );
    expect(first.status).toBe(201);
    const reply = await call<{ message: { threadId: string; references: string[] } }>(
      'POST',
      '/_sandbox/mailboxes/user@gmail.sandbox.test/deliver',
      {
        from: 'alex@example.com',
        subject: 'Re: Invoice 42',
        text: 'Any news?',
        inReplyTo: first.body.message.messageId,
      },
    );
    expect(reply.body.message.references).toEqual([first.body.message.messageId]);

    const { body: box } = await call<MailboxView>('GET', '/_sandbox/mailboxes/user@gmail.sandbox.test');
    expect(box.inbox).toHaveLength(2);
    const [invoice, followUp] = box.inbox;
    expect(invoice).toMatchObject({
      subject: 'Invoice 42',
      from: { name: 'Alex Doe', address: 'alex@example.com' },
      cc: [{ address: 'finance@example.com' }],
      bcc: [],
      text: 'Please find the invoice.',
      attachments: [{ filename: 'invoice.pdf', contentType: 'application/pdf', size: 3 }],
    });
    expect(invoice.headers.find((h) => h.name === 'Delivered-To')?.value).toBe('user@gmail.sandbox.test');
    expect(followUp.threadId).toBe(invoice.threadId);
  });

  it('accepts a raw RFC 822 message', async () => {
    const raw =
      'From: list@lists.example\r\nTo: user@gmail.sandbox.test\r\nSubject: =?UTF-8?B?w5xiZXJzaWNodA==?=\r\nMessage-ID: <raw-1@lists.example>\r\n\r\nDigest';
    const { body } = await call<{ message: { subject: string; messageId: string } }>(
      'POST',
      '/_sandbox/mailboxes/user@gmail.sandbox.test/deliver',
      {
        rawBase64: Buffer.from(raw).toString('base64'),
      },
    );
    expect(body.message).toMatchObject({ subject: 'Übersicht', messageId: '<raw-1@lists.example>' });
  });

  it('plays a whole conversation between a Gmail user and an Outlook contact from the providers UIs', async () => {
    const started = await call<{ message: { messageId: string } }>(
      'POST',
      '/_sandbox/mailboxes/user@gmail.sandbox.test/send',
      {
        to: ['contact@outlook.sandbox.test'],
        bcc: ['boss@example.com'],
        subject: 'Meeting',
        text: 'Tuesday?',
      },
    );
    expect(started.status).toBe(201);
    const { body: contactBox } = await call<MailboxView>(
      'GET',
      '/_sandbox/mailboxes/contact@outlook.sandbox.test',
    );
    const received = contactBox.inbox.find((m) => m.messageId === started.body.message.messageId);
    expect(received?.bcc).toEqual([]);
    const answered = await call<{ message: { messageId: string } }>(
      'POST',
      '/_sandbox/mailboxes/contact@outlook.sandbox.test/send',
      {
        replyTo: received?.id,
        text: 'Tuesday works.',
      },
    );
    const { body: userBox } = await call<MailboxView>('GET', '/_sandbox/mailboxes/user@gmail.sandbox.test');
    const sentByUser = userBox.sent.find((m) => m.messageId === started.body.message.messageId);
    const answer = userBox.inbox.find((m) => m.messageId === answered.body.message.messageId);
    expect(answer).toMatchObject({
      subject: 'RE: Meeting',
      inReplyTo: started.body.message.messageId,
      threadId: sentByUser?.threadId,
    });
    expect(sentByUser?.bcc.map((b) => b.address)).toEqual(['boss@example.com']);
    const { body: outbound } = await call<{ recipients: string[]; subject: string }[]>(
      'GET',
      '/_sandbox/outbound',
    );
    expect(outbound).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ recipients: ['boss@example.com'], subject: 'Meeting' }),
      ]),
    );
  });

  it('mints, expires and revokes tokens, and injects faults', async () => {
    const tokens = await call<{ access_token: string; refresh_token: string }>(
      'POST',
      '/_sandbox/mailboxes/user@gmail.sandbox.test/tokens',
      {},
    );
    const profile = () =>
      fetch(`${sandbox.urls.gmail}/gmail/v1/users/me/profile`, {
        headers: { authorization: `Bearer ${tokens.body.access_token}` },
      }).then((r) => r.status);
    expect(await profile()).toBe(200);
    expect((await call('POST', '/_sandbox/faults', { target: 'gmail', status: 503, count: 1 })).status).toBe(
      201,
    );
    expect(await profile()).toBe(503);
    expect(await profile()).toBe(200);
    await call('POST', '/_sandbox/mailboxes/user@gmail.sandbox.test/expire-access-tokens');
    expect(await profile()).toBe(401);
    expect(
      (await call<{ revoked: number }>('POST', '/_sandbox/mailboxes/user@gmail.sandbox.test/revoke-tokens'))
        .body.revoked,
    ).toBeGreaterThan(0);
    const refresh = await fetch(sandbox.platformEnv().GOOGLE_OAUTH_TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.body.refresh_token,
        client_id: sandbox.platformEnv().GOOGLE_CLIENT_ID,
        client_secret: sandbox.platformEnv().GOOGLE_CLIENT_SECRET,
      }),
    });
    expect(refresh.status).toBe(400);
  });

  it('serves the same control API, the platform env and the CA on the HTTPS servers', async () => {
    const env = await call<Record<string, string>>('GET', '/_sandbox/env', undefined, sandbox.urls.graph);
    expect(env.body).toEqual(sandbox.platformEnv());
    const pem = await fetch(`${sandbox.urls.microsoft}/_sandbox/ca.pem`).then((r) => r.text());
    expect(pem).toBe(sandbox.caCertPem);
    const unknown = await call<{ error: string }>(
      'GET',
      '/_sandbox/mailboxes/nobody@nowhere.test',
      undefined,
      sandbox.urls.graph,
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain('no sandbox mailbox');
  });
});
