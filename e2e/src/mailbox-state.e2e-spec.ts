import { CrmUser, copies, createMailbox, eventually, waitUntilObserved } from './harness/crm';
import { Platform, api, startPlatform } from './harness/platform.harness';

jest.setTimeout(300_000);

interface MailboxState {
  read: boolean;
  trashed: boolean;
  deleted: boolean;
  changedAt: string | null;
}

/**
 * Issue 19 (SYN-7, state both ways) end to end: the four services as separate processes, the Gmail and Graph
 * emulators, public surfaces only (the CRM API; the owner acting in Gmail / Outlook through the sandbox control API).
 * For each provider: the contact's reply to a CRM email is synced; the user reads, unreads, trashes, restores and
 * deletes it in the mailbox and the CRM follows; the CRM marks the conversation read and the mailbox follows, with
 * exactly the provider modify calls that takes and none bounced back.
 */
describe('mailbox state both ways (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ label: 'state' });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  for (const provider of ['google', 'microsoft'] as const) {
    it(`SYN-7 ${provider}: read, unread, trash, restore and delete in the mailbox show on the CRM message; the CRM marks the conversation read and the mailbox shows it, with no echo loop`, async () => {
      const loc = `loc_state_${provider}`;
      const sam = createMailbox(platform, provider, 'sam');
      const robin = createMailbox(platform, provider, 'robin');
      const crm = new CrmUser(platform, loc, 'usr_sam');
      await crm.connect(provider, sam);
      await waitUntilObserved(platform, sam);
      await crm.putContact('ct_robin', { email: robin, name: 'Robin', assignedUserId: 'usr_sam' });
      await crm.contactsProjected(['ct_robin']);
      const control = platform.sandbox.control;

      const sent = await crm.sendAndWait('ct_robin', { subject: `Quote ${provider}`, text: 'Hi Robin.' });
      const atRobin = copies(platform, robin, `Quote ${provider}`).inbox;
      expect(atRobin).toHaveLength(1);
      await control.send(robin, { replyTo: atRobin[0].id, text: 'Thanks, one question.' });
      const reply = await eventually(async () => {
        const list = await crm.messages('ct_robin');
        const inbound = list.find((m) => m.direction === 'inbound');
        expect(inbound).toBeDefined();
        return inbound!;
      });
      const replyId = reply.provider.messageId!;
      const stateOf = async (id: string) => {
        const res = await api<{ mailboxState: MailboxState | null }>(
          `${platform.urls.conversations}/v1/locations/${loc}/messages/${id}`,
          { token: crm.token },
        );
        expect(res.status).toBe(200);
        return res.body.mailboxState;
      };
      const crmShows = (expected: Partial<MailboxState>) =>
        eventually(async () => expect(await stateOf(reply.id)).toMatchObject(expected));

      // Mailbox → CRM, each state in turn (within the normal sync latency: notifications, then a pull).
      control.changeMessageState(sam, replyId, 'read');
      await crmShows({ read: true, trashed: false, deleted: false });
      control.changeMessageState(sam, replyId, 'unread');
      await crmShows({ read: false });
      control.changeMessageState(sam, replyId, 'trash');
      await crmShows({ read: false, trashed: true });
      control.changeMessageState(sam, replyId, 'restore');
      await crmShows({ trashed: false });

      // CRM → mailbox: the conversation marked read; both its messages are in Sam's mailbox.
      const callsBefore = control.modifyCalls(sam);
      const marked = await api<{ messages: number }>(
        `${platform.urls.conversations}/v1/locations/${loc}/conversations/${sent.conversationId}`,
        { method: 'PATCH', token: crm.token, body: { read: true } },
      );
      expect(marked.status).toBe(200);
      expect(marked.body.messages).toBe(2);
      expect(await stateOf(reply.id)).toMatchObject({ read: true });
      await eventually(() => expect(control.messageState(sam, replyId).read).toBe(true));
      // Gmail: one batchModify for both; Outlook: one PATCH isRead each.
      const applyCalls = provider === 'google' ? 1 : 2;
      await eventually(() => expect(control.modifyCalls(sam) - callsBefore).toBe(applyCalls));

      // No loop: the echo of our change has come back through history/delta (a later owner change is seen after
      // it), and nothing was applied again; the CRM still shows read.
      control.changeMessageState(sam, sent.provider.messageId!, 'trash');
      await eventually(async () => expect(await stateOf(sent.id)).toMatchObject({ trashed: true }));
      expect(control.modifyCalls(sam) - callsBefore).toBe(applyCalls);
      expect(await stateOf(reply.id)).toMatchObject({ read: true, trashed: false });

      // Deleted for good in the mailbox: flagged in the CRM, never erased.
      control.changeMessageState(sam, replyId, 'delete');
      await crmShows({ deleted: true });
      const list = await crm.messages('ct_robin');
      expect(list.map((m) => m.id)).toContain(reply.id);
      expect(control.modifyCalls(sam) - callsBefore).toBe(applyCalls);
    });
  }

  it('SYN-7: a message of an unsynced thread changing state produces no state in the CRM and no provider call', async () => {
    const loc = 'loc_state_private';
    const sam = createMailbox(platform, 'google', 'sam');
    const crm = new CrmUser(platform, loc, 'usr_sam');
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    await crm.putContact('ct_kim', { email: 'kim@example.com', name: 'Kim', assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_kim']);
    const control = platform.sandbox.control;
    const privateMail = await control.deliver(sam, {
      from: 'friend@private.example',
      subject: 'Private',
      text: 'p',
    });
    const kimMail = await control.deliver(sam, { from: 'kim@example.com', subject: 'Hello', text: 'k' });
    const kim = await eventually(async () => {
      const list = await crm.messages('ct_kim');
      expect(list).toHaveLength(1);
      return list[0];
    });
    const calls = control.modifyCalls(sam);
    control.changeMessageState(sam, privateMail.message.id, 'read');
    control.changeMessageState(sam, privateMail.message.id, 'trash');
    control.changeMessageState(sam, kimMail.message.id, 'read');
    // Kim's read arrives; the private message's changes, made before it, were pulled with it and left no trace.
    await eventually(async () => {
      const res = await api<{ mailboxState: MailboxState | null }>(
        `${platform.urls.conversations}/v1/locations/${loc}/messages/${kim.id}`,
        { token: crm.token },
      );
      expect(res.body.mailboxState).toMatchObject({ read: true });
    });
    const syncEvents = await crm.syncEvents();
    expect(JSON.stringify(syncEvents)).not.toContain(privateMail.message.id);
    expect(control.modifyCalls(sam)).toBe(calls);
  });
});
