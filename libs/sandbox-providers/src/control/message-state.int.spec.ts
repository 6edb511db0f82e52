import type { gmail_v1 } from '@googleapis/gmail';
import type { Client } from '@microsoft/microsoft-graph-client';
import { startSandboxProviders, type SandboxProviders } from '../index';
import { gmailClient, googleOAuthClient, graphClient, trustExtraCa } from '../test-support/clients';

const GINA = 'gina@gmail.sandbox.test';
const OLIVE = 'olive@outlook.sandbox.test';

/**
 * SYN-7 in the emulators: the owner's read / unread / trash / restore / delete (control API over HTTP) show up as
 * the real providers show them (Gmail history label records and deletions, Graph delta changes and `@removed`), and
 * the clients' own modify calls are counted per mailbox, read through the official client libraries.
 */
describe('message state in the sandbox (SYN-7)', () => {
  let sandbox: SandboxProviders;
  let env: Record<string, string>;
  let gmail: gmail_v1.Gmail;
  let graph: Client;

  const control = async <T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${sandbox.urls.google}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const act = (address: string, id: string, action: string) =>
    control<{ read: boolean; trashed: boolean; deleted: boolean; error?: string }>(
      'POST',
      `/_sandbox/mailboxes/${address}/messages/${encodeURIComponent(id)}/state`,
      { action },
    );

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      mailboxes: [
        { provider: 'google', address: GINA },
        { provider: 'microsoft', address: OLIVE },
      ],
    });
    env = sandbox.platformEnv();
    trustExtraCa(sandbox.caCertPem);
    const auth = googleOAuthClient(env);
    auth.setCredentials({ access_token: String(sandbox.control.issueTokens(GINA).access_token) });
    gmail = gmailClient(env, auth);
    const token = String(sandbox.control.issueTokens(OLIVE).access_token);
    graph = graphClient(env, () => token);
  });
  afterAll(() => sandbox.close());

  it('SYN-7 Gmail: read, unread, trash, restore and delete by the owner are history records (labelsRemoved/labelsAdded UNREAD, TRASH; messagesDeleted)', async () => {
    const m = (await sandbox.control.deliver(GINA, { from: 'ann@x.example', subject: 'S1', text: 'x' }))
      .message;
    const start = (await gmail.users.getProfile({ userId: 'me' })).data.historyId!;
    expect((await act(GINA, m.id, 'read')).body).toMatchObject({
      read: true,
      trashed: false,
      deleted: false,
    });
    expect((await act(GINA, m.id, 'unread')).body).toMatchObject({ read: false });
    expect((await act(GINA, m.id, 'trash')).body).toMatchObject({ trashed: true });
    expect((await act(GINA, m.id, 'restore')).body).toMatchObject({ trashed: false });
    expect((await act(GINA, m.id, 'delete')).body).toMatchObject({ deleted: true });
    const { data } = await gmail.users.history.list({
      userId: 'me',
      startHistoryId: start,
      historyTypes: ['labelAdded', 'labelRemoved', 'messageDeleted'],
    });
    const summary = (data.history ?? []).map((h) =>
      h.labelsAdded
        ? `+${h.labelsAdded[0].labelIds!.join(',')}`
        : h.labelsRemoved
          ? `-${h.labelsRemoved[0].labelIds!.join(',')}`
          : h.messagesDeleted
            ? `deleted ${h.messagesDeleted[0].message!.id}`
            : '?',
    );
    expect(summary).toEqual([
      '-UNREAD',
      '+UNREAD',
      '+TRASH',
      '-INBOX',
      '+INBOX',
      '-TRASH',
      `deleted ${m.id}`,
    ]);
    expect((await act(GINA, m.id, 'read')).status).toBe(400);
    expect((await act(GINA, m.id, 'explode')).status).toBe(400);
  });

  it('SYN-7 Gmail: messages.modify and batchModify change UNREAD and are counted per mailbox; a batch with an unknown id changes nothing', async () => {
    const a = (await sandbox.control.deliver(GINA, { from: 'ann@x.example', subject: 'A', text: 'a' }))
      .message;
    const b = (await sandbox.control.deliver(GINA, { from: 'ann@x.example', subject: 'B', text: 'b' }))
      .message;
    const before = (await control<{ modifyCalls: number }>('GET', `/_sandbox/mailboxes/${GINA}/modify-calls`))
      .body.modifyCalls;
    await gmail.users.messages.modify({
      userId: 'me',
      id: a.id,
      requestBody: { removeLabelIds: ['UNREAD'] },
    });
    expect(sandbox.control.messageState(GINA, a.id).read).toBe(true);
    await gmail.users.messages.batchModify({
      userId: 'me',
      requestBody: { ids: [a.id, b.id], addLabelIds: ['UNREAD'] },
    });
    expect([
      sandbox.control.messageState(GINA, a.id).read,
      sandbox.control.messageState(GINA, b.id).read,
    ]).toEqual([false, false]);
    await expect(
      gmail.users.messages.batchModify({
        userId: 'me',
        requestBody: { ids: [a.id, 'ffffffffffffffff'], removeLabelIds: ['UNREAD'] },
      }),
    ).rejects.toMatchObject({ status: 400 });
    expect(sandbox.control.messageState(GINA, a.id).read).toBe(false);
    expect(sandbox.control.modifyCalls(GINA)).toBe(before + 2);
  });

  it('SYN-7 Outlook: read is a delta update with isRead, trash and delete are @removed from the Inbox, restore comes back; PATCH isRead is counted', async () => {
    const m = (await sandbox.control.deliver(OLIVE, { from: 'ann@x.example', subject: 'O1', text: 'x' }))
      .message;
    const prefer = 'IdType="ImmutableId"';
    let page = await graph
      .api(`/me/mailFolders('inbox')/messages/delta`)
      .header('Prefer', prefer)
      .select('id,isRead')
      .get();
    while (page['@odata.nextLink'])
      page = await graph.api(page['@odata.nextLink']).header('Prefer', prefer).get();
    let link = page['@odata.deltaLink'] as string;
    const round = async () => {
      const p = await graph.api(link).header('Prefer', prefer).get();
      link = p['@odata.deltaLink'];
      return p.value as Array<{ id: string; isRead?: boolean; '@removed'?: unknown }>;
    };
    await act(OLIVE, m.id, 'read');
    expect(await round()).toEqual([expect.objectContaining({ id: m.id, isRead: true })]);
    await act(OLIVE, m.id, 'trash');
    expect(await round()).toEqual([expect.objectContaining({ id: m.id, '@removed': { reason: 'deleted' } })]);
    expect(sandbox.control.messageState(OLIVE, m.id)).toMatchObject({ trashed: true, deleted: false });
    await act(OLIVE, m.id, 'restore');
    expect(await round()).toEqual([expect.objectContaining({ id: m.id, isRead: true })]);
    const before = sandbox.control.modifyCalls(OLIVE);
    await graph.api(`/me/messages/${m.id}`).header('Prefer', prefer).patch({ isRead: false });
    expect(sandbox.control.messageState(OLIVE, m.id).read).toBe(false);
    expect(sandbox.control.modifyCalls(OLIVE)).toBe(before + 1);
    await act(OLIVE, m.id, 'delete');
    expect(await round()).toEqual([expect.objectContaining({ id: m.id, '@removed': expect.anything() })]);
    expect(sandbox.control.messageState(OLIVE, m.id).deleted).toBe(true);
  });
});
