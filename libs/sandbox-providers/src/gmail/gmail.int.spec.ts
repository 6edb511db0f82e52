import type { gmail_v1 } from '@googleapis/gmail';
import { ManualClock, startSandboxProviders, type SandboxProviders } from '../index';
import { gmailClient, gmailUploadOptions, googleOAuthClient } from '../test-support/clients';

const USER = 'gina@gmail.sandbox.test';
const CONTACT = 'carl@outlook.sandbox.test';

function rfc822(lines: Record<string, string>, body: string): string {
  return `${Object.entries(lines)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${body}`;
}

describe('Gmail API emulator driven by @googleapis/gmail', () => {
  let sandbox: SandboxProviders;
  let env: Record<string, string>;
  let api: gmail_v1.Gmail;
  const clock = new ManualClock(Date.now());

  function client(scopes?: string[], retry = false) {
    const auth = googleOAuthClient(env);
    const tokens = sandbox.control.issueTokens(USER, scopes);
    auth.setCredentials({
      access_token: String(tokens.access_token),
      refresh_token: String(tokens.refresh_token),
    });
    return { auth, api: gmailClient(env, auth, retry) };
  }

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      clock,
      mailboxes: [
        { provider: 'google', address: USER, displayName: 'Gina Gmail' },
        { provider: 'microsoft', address: CONTACT, displayName: 'Carl Contact' },
      ],
    });
    env = sandbox.platformEnv();
    api = client().api;
  });
  afterAll(() => sandbox.close());

  it('users.getProfile returns the address, counters and a string historyId', async () => {
    const { data } = await api.users.getProfile({ userId: 'me' });
    expect(data).toMatchObject({ emailAddress: USER, messagesTotal: 0, threadsTotal: 0 });
    expect(data.historyId).toMatch(/^\d+$/);
  });

  it('messages.send (JSON raw) delivers, assigns a Message-ID and files a SENT copy', async () => {
    const raw = Buffer.from(
      rfc822({ To: `Carl <${CONTACT}>`, Subject: 'Hello Carl' }, 'First line'),
    ).toString('base64url');
    const { data } = await api.users.messages.send({ userId: 'me', requestBody: { raw } });
    expect(data.id).toMatch(/^[0-9a-f]{16}$/);
    expect(data.threadId).toBe(data.id);
    expect(data.labelIds).toEqual(['SENT']);
    const { data: meta } = await api.users.messages.get({
      userId: 'me',
      id: data.id!,
      format: 'metadata',
      metadataHeaders: ['Message-ID', 'From'],
    });
    const headers = Object.fromEntries((meta.payload?.headers ?? []).map((h) => [h.name, h.value]));
    expect(Object.keys(headers).sort()).toEqual(['From', 'Message-ID']);
    expect(headers['From']).toContain(USER);
    const atContact = sandbox.control.mailbox(CONTACT).inbox.find((m) => m.subject === 'Hello Carl');
    expect(atContact?.messageId).toBe(headers['Message-ID']);
  });

  it('messages.send through the /upload multipart path needs the per-call rootUrl and carries threadId', async () => {
    const first = rfc822(
      { To: CONTACT, Subject: 'Uploaded', 'Message-ID': '<upload-1@gmail.sandbox.test>' },
      'Sent via upload',
    );
    const { data: a } = await api.users.messages.send(
      { userId: 'me', requestBody: {}, media: { mimeType: 'message/rfc822', body: first } },
      gmailUploadOptions(env),
    );
    expect(a.labelIds).toContain('SENT');
    const second = rfc822(
      {
        To: CONTACT,
        Subject: 'Re: Uploaded',
        'In-Reply-To': '<upload-1@gmail.sandbox.test>',
        References: '<upload-1@gmail.sandbox.test>',
      },
      'Follow-up via upload',
    );
    const { data: b } = await api.users.messages.send(
      {
        userId: 'me',
        requestBody: { threadId: a.threadId },
        media: { mimeType: 'message/rfc822', body: second },
      },
      gmailUploadOptions(env),
    );
    expect(b.threadId).toBe(a.threadId);
    expect(sandbox.control.mailbox(CONTACT).inbox.map((m) => m.subject)).toEqual(
      expect.arrayContaining(['Uploaded', 'Re: Uploaded']),
    );
  });

  it('messages.send through uploadType=media and resumable', async () => {
    const token = (await googleOAuthClientToken()).token;
    const raw = rfc822({ To: CONTACT, Subject: 'Media upload' }, 'x');
    const media = await fetch(
      `${env.GMAIL_API_ROOT_URL}upload/gmail/v1/users/me/messages/send?uploadType=media`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'message/rfc822' },
        body: raw,
      },
    );
    expect(media.status).toBe(200);
    const start = await fetch(
      `${env.GMAIL_API_ROOT_URL}upload/gmail/v1/users/me/messages/send?uploadType=resumable`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-upload-content-type': 'message/rfc822',
        },
        body: '{}',
      },
    );
    const session = start.headers.get('location') ?? '';
    expect(session).toContain('upload_id=');
    const bytes = Buffer.from(rfc822({ To: CONTACT, Subject: 'Resumable upload' }, 'y'));
    const part1 = await fetch(session, {
      method: 'PUT',
      headers: { 'content-range': `bytes 0-9/${bytes.length}` },
      body: bytes.subarray(0, 10),
    });
    expect(part1.status).toBe(308);
    const part2 = await fetch(session, {
      method: 'PUT',
      headers: { 'content-range': `bytes 10-${bytes.length - 1}/${bytes.length}` },
      body: bytes.subarray(10),
    });
    expect(part2.status).toBe(200);
    expect(sandbox.control.mailbox(CONTACT).inbox.map((m) => m.subject)).toEqual(
      expect.arrayContaining(['Media upload', 'Resumable upload']),
    );
  });

  async function googleOAuthClientToken() {
    const { auth } = client();
    return auth.getAccessToken();
  }

  it('messages.get formats full/minimal/raw and attachments.get return the real structure', async () => {
    const delivered = await sandbox.control.deliver(USER, {
      from: 'Ann <ann@example.com>',
      subject: 'Résumé attached',
      text: 'Plain body',
      html: '<p>HTML body</p>',
      attachments: [
        {
          filename: 'cv.pdf',
          contentType: 'application/pdf',
          contentBase64: Buffer.from('%PDF-1.4 fake').toString('base64'),
        },
      ],
    });
    const { data: full } = await api.users.messages.get({ userId: 'me', id: delivered.message.id });
    expect(full.payload?.mimeType).toBe('multipart/mixed');
    expect(full.payload?.partId).toBe('');
    const [alternative, pdf] = full.payload?.parts ?? [];
    expect(alternative.partId).toBe('0');
    expect(alternative.parts?.map((p) => [p.partId, p.mimeType])).toEqual([
      ['0.0', 'text/plain'],
      ['0.1', 'text/html'],
    ]);
    expect(Buffer.from(alternative.parts?.[0].body?.data ?? '', 'base64url').toString()).toBe('Plain body');
    expect(pdf).toMatchObject({
      partId: '1',
      mimeType: 'application/pdf',
      filename: 'cv.pdf',
      body: { size: 13 },
    });
    expect(pdf.body?.data).toBeUndefined();
    expect(full.payload?.headers?.find((h) => h.name === 'Subject')?.value).toBe('Résumé attached');
    expect(full.labelIds).toEqual(expect.arrayContaining(['INBOX', 'UNREAD']));
    expect(full.snippet).toBe('Plain body');
    expect(full.internalDate).toBe(String(clock.now()));

    const { data: attachment } = await api.users.messages.attachments.get({
      userId: 'me',
      messageId: delivered.message.id,
      id: pdf.body?.attachmentId ?? '',
    });
    expect(Buffer.from(attachment.data ?? '', 'base64url').toString()).toBe('%PDF-1.4 fake');
    expect(attachment.size).toBe(13);

    const { data: minimal } = await api.users.messages.get({
      userId: 'me',
      id: delivered.message.id,
      format: 'minimal',
    });
    expect(minimal.payload).toBeUndefined();
    expect(Object.keys(minimal).sort()).toEqual([
      'historyId',
      'id',
      'internalDate',
      'labelIds',
      'sizeEstimate',
      'snippet',
      'threadId',
    ]);
    const { data: raw } = await api.users.messages.get({
      userId: 'me',
      id: delivered.message.id,
      format: 'raw',
    });
    expect(Buffer.from(raw.raw ?? '', 'base64url').toString()).toContain('Content-Type: multipart/mixed');
  });

  it('messages.list finds a message by q=rfc822msgid: and threads.get returns the thread in order', async () => {
    const first = await sandbox.control.deliver(USER, {
      from: 'dora@example.com',
      subject: 'Plan',
      text: 'one',
      messageId: '<plan-1@example.com>',
    });
    const reply = await sandbox.control.deliver(USER, {
      from: 'dora@example.com',
      subject: 'Re: Plan',
      text: 'two',
      inReplyTo: '<plan-1@example.com>',
    });
    expect(reply.message.threadId).toBe(first.message.threadId);
    const { data } = await api.users.messages.list({ userId: 'me', q: 'rfc822msgid:plan-1@example.com' });
    expect(data.messages).toEqual([{ id: first.message.id, threadId: first.message.threadId }]);
    const none = await api.users.messages.list({ userId: 'me', q: 'rfc822msgid:<nothing@example.com>' });
    expect(none.data).toEqual({ resultSizeEstimate: 0 });
    const { data: thread } = await api.users.threads.get({
      userId: 'me',
      id: first.message.threadId,
      format: 'metadata',
    });
    expect(thread.messages?.map((m) => m.id)).toEqual([first.message.id, reply.message.id]);
  });

  it('history.list reports messagesAdded (SENT copies included) after the cursor, with increasing string ids', async () => {
    const { data: profile } = await api.users.getProfile({ userId: 'me' });
    await sandbox.control.deliver(USER, { from: 'erin@example.com', subject: 'History in', text: 'x' });
    const sentRaw = Buffer.from(rfc822({ To: CONTACT, Subject: 'History out' }, 'y')).toString('base64url');
    const { data: sentMessage } = await api.users.messages.send({
      userId: 'me',
      requestBody: { raw: sentRaw },
    });
    const { data } = await api.users.history.list({
      userId: 'me',
      startHistoryId: profile.historyId!,
      historyTypes: ['messageAdded'],
    });
    const added = (data.history ?? []).flatMap((h) => h.messagesAdded ?? []).map((a) => a.message);
    expect(added).toHaveLength(2);
    expect(added[1]).toMatchObject({ id: sentMessage.id, labelIds: ['SENT'] });
    expect(added[0]?.labelIds).toEqual(expect.arrayContaining(['INBOX']));
    const ids = (data.history ?? []).map((h) => BigInt(h.id!));
    expect(ids[0]).toBeGreaterThan(BigInt(profile.historyId!));
    expect(ids[1]).toBeGreaterThan(ids[0]);
    expect(BigInt(data.historyId!)).toBeGreaterThanOrEqual(ids[1]);

    const page = await api.users.history.list({
      userId: 'me',
      startHistoryId: profile.historyId!,
      maxResults: 1,
    });
    expect(page.data.history).toHaveLength(1);
    expect(page.data.nextPageToken).toBeDefined();
    const inbox = await api.users.history.list({
      userId: 'me',
      startHistoryId: profile.historyId!,
      labelId: 'INBOX',
    });
    expect(inbox.data.history).toHaveLength(1);
  });

  it('history.list answers 404 notFound when startHistoryId is older than the retained window', async () => {
    const { data: profile } = await api.users.getProfile({ userId: 'me' });
    await sandbox.control.deliver(USER, { subject: 'Before expiry', text: 'x' });
    sandbox.control.expireHistory(USER);
    const error = await api.users.history
      .list({ userId: 'me', startHistoryId: profile.historyId! })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 404,
      response: {
        data: {
          error: { code: 404, status: 'NOT_FOUND', errors: [{ reason: 'notFound', domain: 'global' }] },
        },
      },
    });
    const { data: fresh } = await api.users.getProfile({ userId: 'me' });
    await expect(
      api.users.history.list({ userId: 'me', startHistoryId: fresh.historyId! }),
    ).resolves.toBeDefined();
  });

  it('history older than the retention window (by the injected clock) is gone', async () => {
    const { data: profile } = await api.users.getProfile({ userId: 'me' });
    await sandbox.control.deliver(USER, { subject: 'Old news', text: 'x' });
    clock.advance(8 * 86_400_000);
    await sandbox.control.deliver(USER, { subject: 'New news', text: 'x' });
    const error = await api.users.history
      .list({ userId: 'me', startHistoryId: profile.historyId! })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404 });
  });

  it('watch returns historyId and a 7-day expiration; topics of another project are rejected', async () => {
    const { data } = await api.users.watch({
      userId: 'me',
      requestBody: { topicName: env.GMAIL_PUBSUB_TOPIC, labelIds: ['INBOX'] },
    });
    expect(Number(data.expiration) - clock.now()).toBe(7 * 86_400_000);
    expect(data.historyId).toMatch(/^\d+$/);
    const error = await api.users
      .watch({ userId: 'me', requestBody: { topicName: 'projects/other/topics/x' } })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400 });
    const stopped = await api.users.stop({ userId: 'me' });
    expect(stopped.status).toBe(204);
  });

  it('charges per-user quota units and answers 429 rateLimitExceeded when exhausted', async () => {
    sandbox.control.setGmailQuota({ unitsPerMinute: 150 });
    try {
      clock.advance(61_000);
      const raw = Buffer.from(rfc822({ To: CONTACT, Subject: 'Quota' }, 'x')).toString('base64url');
      await api.users.messages.send({ userId: 'me', requestBody: { raw } });
      await api.users.messages.list({ userId: 'me' });
      const error = await api.users.messages
        .send({ userId: 'me', requestBody: { raw } })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        status: 429,
        response: { data: { error: { errors: [{ reason: 'rateLimitExceeded' }] } } },
      });
      clock.advance(61_000);
      await expect(api.users.messages.send({ userId: 'me', requestBody: { raw } })).resolves.toMatchObject({
        status: 200,
      });
    } finally {
      sandbox.control.setGmailQuota({ unitsPerMinute: 15_000 });
    }
  });

  it('answers 403 insufficientPermissions for a token without the scope', async () => {
    const sendOnly = client(['https://www.googleapis.com/auth/gmail.send']).api;
    const error = await sendOnly.users.messages.list({ userId: 'me' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 403,
      response: { data: { error: { errors: [{ reason: 'insufficientPermissions' }] } } },
    });
  });

  // Tokens from issueTokens carry no expiry_date, so OAuth2Client refreshes on 401 (with one it would not).
  it('refreshes through the token endpoint on 401 and retries (OAuth2Client without expiry_date)', async () => {
    const { auth, api: fresh } = client();
    const before = auth.credentials.access_token;
    sandbox.control.expireAccessTokens(USER);
    const { data } = await fresh.users.getProfile({ userId: 'me' });
    expect(data.emailAddress).toBe(USER);
    expect(auth.credentials.access_token).not.toBe(before);
  });

  it('injected 5xx storms are retried by gaxios on GETs', async () => {
    const retrying = client(undefined, true).api;
    sandbox.control.injectFault('gmail', { status: 503, count: 2, pathIncludes: '/profile' });
    const { data } = await retrying.users.getProfile({ userId: 'me' });
    expect(data.emailAddress).toBe(USER);
    sandbox.control.injectFault('gmail', { status: 500, count: 1, pathIncludes: '/profile' });
    const error = await client()
      .api.users.getProfile({ userId: 'me' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 500,
      response: { data: { error: { errors: [{ reason: 'backendError' }] } } },
    });
  });

  it('rejects oversize JSON sends with 413', async () => {
    sandbox.control.setGmailQuota({ jsonLimitBytes: 1024 });
    try {
      const raw = Buffer.from(rfc822({ To: CONTACT, Subject: 'Big' }, 'x'.repeat(4096))).toString(
        'base64url',
      );
      const error = await client()
        .api.users.messages.send({ userId: 'me', requestBody: { raw } })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ status: 413 });
    } finally {
      sandbox.control.setGmailQuota({ jsonLimitBytes: 5 * 1024 * 1024 });
    }
  });
});
