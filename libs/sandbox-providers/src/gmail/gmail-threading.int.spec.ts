import type { gmail_v1 } from '@googleapis/gmail';
import { startSandboxProviders, type SandboxProviders } from '../index';
import { gmailClient, googleOAuthClient } from '../test-support/clients';

const USER = 'tess@gmail.sandbox.test';
const CONTACT = 'omar@outlook.sandbox.test';

/** Gmail's rule: threadId + In-Reply-To/References + matching subject, or a new thread (provider-apis.md §A.3/§F.2). */
describe('Gmail thread placement through the real client', () => {
  let sandbox: SandboxProviders;
  let api: gmail_v1.Gmail;
  let original: { id: string; threadId: string; messageId: string };

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      mailboxes: [
        { provider: 'google', address: USER },
        { provider: 'microsoft', address: CONTACT, displayName: 'Omar Outlook' },
      ],
    });
    const env = sandbox.platformEnv();
    const auth = googleOAuthClient(env);
    auth.setCredentials({ access_token: String(sandbox.control.issueTokens(USER).access_token) });
    api = gmailClient(env, auth);
    // The contact writes first, from Outlook.
    const started = await sandbox.control.send(CONTACT, {
      to: [USER],
      subject: 'Proposal for Q3',
      text: 'Here is our proposal.',
    });
    const inbox = sandbox.control.mailbox(USER).inbox.find((m) => m.messageId === started.message.messageId);
    original = { id: inbox!.id, threadId: inbox!.threadId, messageId: inbox!.messageId! };
  });
  afterAll(() => sandbox.close());

  async function send(headers: Record<string, string | undefined>, threadId?: string) {
    const lines = Object.entries({ To: CONTACT, ...headers })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}: ${v}`);
    const raw = Buffer.from(`${lines.join('\r\n')}\r\n\r\nbody`).toString('base64url');
    const { data } = await api.users.messages.send({ userId: 'me', requestBody: { raw, threadId } });
    return data;
  }

  it('a reply sent with threadId, In-Reply-To/References and the same subject joins the thread', async () => {
    const data = await send(
      { Subject: 'Re: Proposal for Q3', 'In-Reply-To': original.messageId, References: original.messageId },
      original.threadId,
    );
    expect(data.threadId).toBe(original.threadId);
    const { data: thread } = await api.users.threads.get({
      userId: 'me',
      id: original.threadId,
      format: 'minimal',
    });
    expect(thread.messages?.map((m) => m.id)).toEqual([original.id, data.id]);
  });

  it('a message with a changed subject starts a new thread even with threadId and headers', async () => {
    const data = await send(
      {
        Subject: 'Completely different topic',
        'In-Reply-To': original.messageId,
        References: original.messageId,
      },
      original.threadId,
    );
    expect(data.threadId).not.toBe(original.threadId);
    expect(data.threadId).toBe(data.id);
  });

  it('a message without In-Reply-To/References starts a new thread even with threadId and the subject', async () => {
    const data = await send({ Subject: 'Re: Proposal for Q3' }, original.threadId);
    expect(data.threadId).not.toBe(original.threadId);
  });

  it('a message with the headers and subject but no threadId starts a new thread', async () => {
    const data = await send({
      Subject: 'Re: Proposal for Q3',
      'In-Reply-To': original.messageId,
      References: original.messageId,
    });
    expect(data.threadId).not.toBe(original.threadId);
  });

  it("the contact's reply (References, same subject) joins the thread on the receiving side; a new subject does not", async () => {
    const outlookCopy = sandbox.control
      .mailbox(CONTACT)
      .inbox.find((m) => m.subject === 'Re: Proposal for Q3' && m.inReplyTo === original.messageId);
    expect(outlookCopy).toBeDefined();
    const replied = await sandbox.control.send(CONTACT, {
      replyTo: outlookCopy!.id,
      text: 'Thanks, agreed.',
    });
    const atUser = sandbox.control.mailbox(USER).inbox.find((m) => m.messageId === replied.message.messageId);
    expect(atUser?.threadId).toBe(original.threadId);
    expect(atUser?.references).toContain(original.messageId);

    const offTopic = await sandbox.control.deliver(USER, {
      from: CONTACT,
      subject: 'Unrelated question',
      text: 'x',
      inReplyTo: original.messageId,
    });
    expect(offTopic.message.threadId).not.toBe(original.threadId);
  });

  it('on the Outlook side the whole exchange shares one conversationId', () => {
    const box = sandbox.control.mailbox(CONTACT);
    const first = box.sent.find((m) => m.messageId === original.messageId);
    const related = [...box.inbox, ...box.sent].filter(
      (m) => m.references.includes(original.messageId) && m.subject.endsWith('Proposal for Q3'),
    );
    expect(related.length).toBeGreaterThanOrEqual(2);
    for (const m of related) expect(m.threadId).toBe(first?.threadId);
  });
});
