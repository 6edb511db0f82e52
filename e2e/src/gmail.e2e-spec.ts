import { randomUUID } from 'node:crypto';
import { CrmUser, copies, createMailbox, eventually, header, waitUntilObserved } from './harness/crm';
import { Platform, startPlatform } from './harness/platform.harness';

jest.setTimeout(300_000);

/**
 * Gmail end to end: the four services as separate processes (Kafka mock cluster, PostgreSQL), the Gmail / Google
 * OAuth emulators, driven only through the CRM API and the emulator's control API. Each scenario has its own location,
 * user, mailboxes and contacts, so they share one platform without sharing state.
 */
describe('Gmail two-way sync (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ label: 'gmail' });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('CON-1, SYN-1, SND-1, SND-6, SYN-5, SYN-2, SND-5, SYN-6: connect Gmail → send from the CRM → the contact replies → the reply is in the conversation; the CRM reply and the user’s own Gmail answer stay in the thread', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const casey = createMailbox(platform, 'google', 'casey');
    const crm = new CrmUser(platform, 'loc_g1', 'usr_sam');
    const status = await crm.connect('google', sam);
    expect(status).toMatchObject({ provider: 'google', emailAddress: sam, status: 'active', syncScope: 'contact_mail' });
    await waitUntilObserved(platform, sam);
    await crm.putContact('ct_casey', { email: casey, name: 'Casey', assignedUserId: 'usr_sam' });

    // SYN-1 + SND-6: the CRM retries its request with the same key; one email goes out, through Sam's Gmail.
    const key = randomUUID();
    const first = await crm.send('ct_casey', { subject: 'Your quote', text: 'Hi Casey, here is the quote.' }, key);
    expect(first.status).toBe(202);
    const retried = await crm.send('ct_casey', { subject: 'Your quote', text: 'Hi Casey, here is the quote.' }, key);
    expect(retried.status).toBe(202);
    expect(retried.body.messageId).toBe(first.body.messageId);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    const sent = await crm.waitForStatus(first.body.messageId, 'sent');
    const outgoing = copies(platform, sam, 'Your quote');
    expect(outgoing.sent).toHaveLength(1);
    expect(outgoing.sent[0].from?.address).toBe(sam);
    expect(sent.provider).toEqual({ name: 'google', messageId: outgoing.sent[0].id, threadId: outgoing.sent[0].threadId });
    const atCasey = copies(platform, casey, 'Your quote').inbox;
    expect(atCasey).toHaveLength(1);

    // SYN-2 inbound: Casey answers from her own mailbox.
    const reply = await platform.sandbox.control.send(casey, { replyTo: atCasey[0].messageId, text: 'Thanks Sam, looks good!' });
    const replyInSam = await eventually(() => {
      const inbox = copies(platform, sam, 'Your quote').inbox;
      expect(inbox).toHaveLength(1);
      return inbox[0];
    });
    expect(replyInSam.threadId).toBe(outgoing.sent[0].threadId);
    const afterReply = await eventually(async () => {
      const list = await crm.messages('ct_casey');
      expect(list.map((m) => m.direction)).toEqual(['outbound', 'inbound']);
      return list;
    });
    // SYN-5: the Sent copy (observed before the reply) merged into the CRM message instead of adding an entry.
    expect(afterReply[0]).toMatchObject({ id: sent.id, source: 'crm', status: 'sent' });
    expect(afterReply[1]).toMatchObject({
      source: 'mailbox',
      status: 'received',
      subject: reply.message.subject,
      from: expect.objectContaining({ address: casey }),
      provider: { name: 'google', messageId: replyInSam.id, threadId: outgoing.sent[0].threadId },
    });
    expect(afterReply[1].text).toContain('Thanks Sam, looks good!');

    // SND-5: Sam answers from the CRM; Gmail keeps it in the same thread, for Sam and for Casey.
    const crmReply = await crm.sendAndWait('ct_casey', {
      subject: 'Re: Your quote',
      text: 'Great, I will send the contract.',
      replyToMessageId: afterReply[1].id,
    });
    const samSent = copies(platform, sam, 'Your quote').sent;
    expect(samSent).toHaveLength(2);
    const crmReplyCopy = samSent.find((m) => m.id === crmReply.provider.messageId)!;
    expect(crmReplyCopy.threadId).toBe(outgoing.sent[0].threadId);
    expect(crmReplyCopy.inReplyTo).toBe(replyInSam.messageId);
    expect(crmReplyCopy.references).toContain(replyInSam.messageId);
    const caseyInbox = copies(platform, casey, 'Your quote').inbox;
    expect(caseyInbox).toHaveLength(2);
    expect(new Set(caseyInbox.map((m) => m.threadId)).size).toBe(1);

    // SYN-2 outbound: Sam answers Casey's reply from the Gmail web UI, in that thread.
    const own = await platform.sandbox.control.send(sam, { replyTo: replyInSam.id, text: 'PS: the contract is attached.' });
    const final = await eventually(async () => {
      const list = await crm.messages('ct_casey');
      expect(list).toHaveLength(4);
      return list;
    });
    expect(final[3]).toMatchObject({
      direction: 'outbound',
      source: 'mailbox',
      status: 'sent',
      provider: { name: 'google', messageId: own.message.id, threadId: outgoing.sent[0].threadId },
    });
    // SYN-6: in the order they were sent; every provider message once (SYN-5).
    expect(final.map((m) => m.id)).toEqual([sent.id, afterReply[1].id, crmReply.id, final[3].id]);
    const sentAts = final.map((m) => Date.parse(m.sentAt ?? ''));
    expect([...sentAts].sort((a, b) => a - b)).toEqual(sentAts);
    expect(new Set(final.map((m) => m.provider.messageId)).size).toBe(4);
    expect(header(crmReplyCopy, 'X-Mailbridge-Ref')).toBe(crmReply.id);
  });
});
