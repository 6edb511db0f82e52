import { startSandboxProviders, type SandboxProviders } from '../index';
import { gmailClient, googleOAuthClient } from '../test-support/clients';
import { eventually, startWebhookReceiver } from '../test-support/webhook-receiver';
import { BULK_DELIVER_MAX } from './bulk-delivery';

const GMAIL_BOX = 'bulk-user@gmail.sandbox.test';
const OUTLOOK_BOX = 'bulk-user@outlook.sandbox.test';

describe('control API: POST /_sandbox/bulk-deliver (issue 16)', () => {
  let sandbox: SandboxProviders;
  let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

  const post = async <T = unknown>(body: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${sandbox.urls.google}/_sandbox/bulk-deliver`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver(() => ({ status: 204 }));
    sandbox = await startSandboxProviders({
      mailboxes: [
        { provider: 'google', address: GMAIL_BOX },
        { provider: 'microsoft', address: OUTLOOK_BOX },
      ],
      google: { pushMinIntervalMs: 0 },
    });
    sandbox.control.setPushEndpoint({ pushEndpoint: `${receiver.url}/push/gmail` });
  });
  afterAll(async () => {
    await sandbox.close();
    await receiver.close();
  });

  it('delivers each message as the single deliver does, in order, and answers per item', async () => {
    const env = sandbox.platformEnv();
    const auth = googleOAuthClient(env);
    auth.setCredentials({ access_token: String(sandbox.control.issueTokens(GMAIL_BOX).access_token) });
    const gmail = gmailClient(env, auth);
    const { data: watch } = await gmail.users.watch({
      userId: 'me',
      requestBody: { topicName: env.GMAIL_PUBSUB_TOPIC, labelIds: ['INBOX'] },
    });

    const before = Date.now();
    const { status, body } = await post<{ results: Array<Record<string, unknown>> }>({
      messages: [
        { mailbox: GMAIL_BOX, from: 'Alex <alex@example.com>', subject: 'Bulk 1', text: 'one' },
        { mailbox: 'nobody@nowhere.test', subject: 'Lost' },
        { mailbox: OUTLOOK_BOX, from: 'alex@example.com', subject: 'Bulk 2', text: 'two' },
        { mailbox: GMAIL_BOX, from: 'alex@example.com', subject: 'Bulk 3', messageId: 'bulk-3@example.com' },
      ],
    });

    expect(status).toBe(200);
    expect(body.results.map((r) => [r.status, r.mailbox])).toEqual([
      [201, GMAIL_BOX],
      [404, 'nobody@nowhere.test'],
      [201, OUTLOOK_BOX],
      [201, GMAIL_BOX],
    ]);
    expect(body.results[1].error).toBe('no sandbox mailbox nobody@nowhere.test');
    expect(body.results[3].messageId).toBe('<bulk-3@example.com>');
    for (const r of [body.results[0], body.results[2], body.results[3]])
      expect(r.deliveredAt).toBeGreaterThanOrEqual(before);

    // The same mailbox contents as the single deliver: the trace headers, the Inbox, the ids answered.
    const gmailInbox = sandbox.control.mailbox(GMAIL_BOX).inbox;
    expect(gmailInbox.map((m) => [m.id, m.subject])).toEqual([
      [body.results[0].id, 'Bulk 1'],
      [body.results[3].id, 'Bulk 3'],
    ]);
    expect(gmailInbox[0].from).toEqual({ name: 'Alex', address: 'alex@example.com' });
    expect(gmailInbox[0].headers.find((h) => h.name === 'Delivered-To')?.value).toBe(GMAIL_BOX);
    expect(sandbox.control.mailbox(OUTLOOK_BOX).inbox.map((m) => [m.id, m.subject])).toEqual([
      [body.results[2].id, 'Bulk 2'],
    ]);

    // The same history records and the same Pub/Sub pushes.
    const { data: history } = await gmail.users.history.list({
      userId: 'me',
      startHistoryId: watch.historyId ?? '',
      historyTypes: ['messageAdded'],
    });
    expect(history.history?.map((h) => h.messagesAdded?.[0].message?.id)).toEqual([
      body.results[0].id,
      body.results[3].id,
    ]);
    const { data: profile } = await gmail.users.getProfile({ userId: 'me' });
    await eventually(() => {
      const last = receiver.requests
        .filter((r) => r.url.pathname === '/push/gmail')
        .map(
          (r) =>
            JSON.parse(
              Buffer.from((r.json as { message: { data: string } }).message.data, 'base64').toString(),
            ) as { emailAddress: string; historyId: string },
        )
        .at(-1);
      expect(last).toEqual({ emailAddress: GMAIL_BOX, historyId: profile.historyId });
    });
  });

  it('refuses a body of the wrong shape or size as a whole with a 400 that says why', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'messages must be an array'],
      [{ messages: [] }, `messages must hold 1 to ${BULK_DELIVER_MAX} items, not 0`],
      [
        { messages: Array.from({ length: BULK_DELIVER_MAX + 1 }, () => ({ mailbox: GMAIL_BOX })) },
        `messages must hold 1 to ${BULK_DELIVER_MAX} items, not ${BULK_DELIVER_MAX + 1}`,
      ],
      [{ messages: [{ mailbox: GMAIL_BOX }, 'x'] }, 'messages[1] must be an object'],
      [{ messages: [{ to: [GMAIL_BOX] }] }, 'messages[0].mailbox must be the address of a sandbox mailbox'],
    ];
    const inboxBefore = sandbox.control.mailbox(GMAIL_BOX).inbox.length;
    for (const [input, error] of cases) expect(await post(input)).toEqual({ status: 400, body: { error } });
    expect((await post('{"messages": [')).status).toBe(400);
    expect(sandbox.control.mailbox(GMAIL_BOX).inbox).toHaveLength(inboxBefore);
  });

  it('answers a broken item with its own 400 and still delivers the others', async () => {
    const { body } = await post<{ results: Array<{ status: number; error?: string }> }>({
      messages: [
        { mailbox: GMAIL_BOX, subject: 'Bad attachments', attachments: 'not a list' },
        { mailbox: GMAIL_BOX, subject: 'Good', text: 'fine' },
      ],
    });
    expect(body.results.map((r) => r.status)).toEqual([400, 201]);
    expect(body.results[0].error).toEqual(expect.any(String));
    expect(sandbox.control.mailbox(GMAIL_BOX).inbox.at(-1)?.subject).toBe('Good');
  });
});
