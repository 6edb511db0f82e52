import { randomUUID } from 'node:crypto';
import {
  CrmUser,
  copies,
  createMailbox,
  decisions,
  eventually,
  header,
  waitUntilObserved,
} from './harness/crm';
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
    expect(status).toMatchObject({
      provider: 'google',
      emailAddress: sam,
      status: 'active',
      syncScope: 'contact_mail',
    });
    await waitUntilObserved(platform, sam);
    await crm.putContact('ct_casey', { email: casey, name: 'Casey', assignedUserId: 'usr_sam' });

    // SYN-1 + SND-6: the CRM retries its request with the same key; one email goes out, through Sam's Gmail.
    const key = randomUUID();
    const first = await crm.send(
      'ct_casey',
      { subject: 'Your quote', text: 'Hi Casey, here is the quote.' },
      key,
    );
    expect(first.status).toBe(202);
    const retried = await crm.send(
      'ct_casey',
      { subject: 'Your quote', text: 'Hi Casey, here is the quote.' },
      key,
    );
    expect(retried.status).toBe(202);
    expect(retried.body.messageId).toBe(first.body.messageId);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    const sent = await crm.waitForStatus(first.body.messageId, 'sent');
    const outgoing = copies(platform, sam, 'Your quote');
    expect(outgoing.sent).toHaveLength(1);
    expect(outgoing.sent[0].from?.address).toBe(sam);
    expect(sent.provider).toEqual({
      name: 'google',
      messageId: outgoing.sent[0].id,
      threadId: outgoing.sent[0].threadId,
    });
    const atCasey = copies(platform, casey, 'Your quote').inbox;
    expect(atCasey).toHaveLength(1);

    // SYN-2 inbound: Casey answers from her own mailbox.
    const reply = await platform.sandbox.control.send(casey, {
      replyTo: atCasey[0].messageId,
      text: 'Thanks Sam, looks good!',
    });
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
    const own = await platform.sandbox.control.send(sam, {
      replyTo: replyInSam.id,
      text: 'PS: the contract is attached.',
    });
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
    // (Date headers have whole seconds, so compare at that precision.)
    const sentAts = final.map((m) => Math.floor(Date.parse(m.sentAt ?? '') / 1000));
    expect([...sentAts].sort((a, b) => a - b)).toEqual(sentAts);
    expect(new Set(final.map((m) => m.provider.messageId)).size).toBe(4);
    expect(header(crmReplyCopy, 'X-Mailbridge-Ref')).toBe(crmReply.id);
  });

  it('CON-6, SYN-3, ADR-5: under Gmail’s default scope (contact_mail) mail from an assigned contact syncs and starts a synced thread; mail from before the connection, from a contact assigned to someone else, or from a stranger does not, and creates no contact', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const crm = new CrmUser(platform, 'loc_g2', 'usr_sam');
    await crm.putContact('ct_jo', { email: 'Jo.Doe@Example.com', name: 'Jo', assignedUserId: 'usr_sam' });
    await crm.putContact('ct_jo_plus', { email: 'jo.doe+news@example.com', assignedUserId: 'usr_sam' });
    await crm.putContact('ct_jodoe', { email: 'jodoe@example.com', assignedUserId: 'usr_sam' });
    await crm.putContact('ct_kim', { email: 'kim@example.com', assignedUserId: 'usr_someone_else' });
    await crm.contactsProjected(['ct_jo', 'ct_jo_plus', 'ct_jodoe', 'ct_kim']);
    const control = platform.sandbox.control;
    const old = await control.deliver(sam, {
      from: 'Jo <jo.doe@example.com>',
      subject: 'Before you connected',
      text: 'old',
    });

    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const stranger = await control.deliver(sam, {
      from: 'Pat <pat@stranger.example>',
      subject: 'Who is this?',
      text: '?',
    });
    const kim = await control.deliver(sam, {
      from: 'Kim <kim@example.com>',
      subject: 'From Kim',
      text: 'Hi',
    });
    const plus = await control.deliver(sam, {
      from: 'jo.doe+news@example.com',
      subject: 'Newsletter',
      text: 'news',
    });
    // ADR-5: another case and a display name still match Jo's contact.
    const jo = await control.deliver(sam, {
      from: 'Jo Doe <JO.DOE@EXAMPLE.COM>',
      subject: 'Pricing question',
      text: 'How much?',
    });

    const joMessages = await eventually(async () => {
      const list = await crm.messages('ct_jo');
      expect(list).toHaveLength(1);
      return list;
    });
    expect(joMessages[0]).toMatchObject({
      direction: 'inbound',
      source: 'mailbox',
      status: 'received',
      subject: 'Pricing question',
      provider: { name: 'google', messageId: jo.message.id, threadId: jo.message.threadId },
    });
    // ADR-5: plus-tags and Gmail dots are not folded: the +news mail is another contact's, none is the dotless one's.
    await eventually(async () =>
      expect((await crm.messages('ct_jo_plus')).map((m) => m.provider.messageId)).toEqual([plus.message.id]),
    );
    expect(await crm.messages('ct_jodoe')).toEqual([]);
    // SYN-3: Kim is assigned to someone else: not synced, and the CRM is told.
    expect(await crm.messages('ct_kim')).toEqual([]);
    await eventually(async () =>
      expect(await crm.syncEvents({ contactId: 'ct_kim' })).toEqual([
        expect.objectContaining({
          kind: 'message_skipped',
          reason: 'contact_not_assigned',
          rule: 'SYN-3',
          providerMessageId: kim.message.id,
        }),
      ]),
    );
    // SYN-3: a stranger's mail is private: no contact, no conversation, not even a sync event naming it.
    expect(await crm.contactsByEmail('pat@stranger.example')).toEqual([]);
    expect((await crm.syncEvents()).filter((e) => e.providerMessageId === stranger.message.id)).toEqual([]);
    expect(JSON.stringify((await decisions(platform, stranger.message.id)).messages)).toContain(
      'no_matching_contact',
    );
    // CON-6: the mail from before the connection was never even observed.
    expect((await decisions(platform, old.message.id)).messages).toEqual([]);

    // The thread is synced now (SYN-2): Sam answers from Gmail, Jo writes back.
    const own = await control.send(sam, { replyTo: jo.message.id, text: 'About 100 per seat.' });
    const joReply = await control.deliver(sam, {
      from: 'Jo <jo.doe@example.com>',
      subject: 'Re: Pricing question',
      inReplyTo: own.message.messageId,
      text: 'Deal.',
    });
    const thread = await eventually(async () => {
      const list = await crm.messages('ct_jo');
      expect(list).toHaveLength(3);
      return list;
    });
    expect(thread.map((m) => [m.direction, m.provider.messageId])).toEqual([
      ['inbound', jo.message.id],
      ['outbound', own.message.id],
      ['inbound', joReply.message.id],
    ]);
    expect(thread[1]).toMatchObject({ source: 'mailbox', status: 'sent' });
  });

  it('ADR-1: a contact’s message that names the user only in Cc, or only in a Bcc, is recorded under the contact and creates no contact for anyone else; a CRM email with Cc and Bcc reaches each recipient once', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const lee = createMailbox(platform, 'google', 'lee');
    const ccBox = createMailbox(platform, 'google', 'cc');
    const bccBox = createMailbox(platform, 'google', 'bcc');
    const crm = new CrmUser(platform, 'loc_g3', 'usr_sam');
    await crm.putContact('ct_lee', { email: lee, assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_lee']);
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const control = platform.sandbox.control;

    const cc = await control.deliver(sam, {
      from: lee,
      to: ['boss@lee-corp.example'],
      cc: [sam],
      subject: 'Sam in Cc',
      text: 'fyi',
    });
    const bcc = await control.deliver(sam, {
      from: lee,
      to: ['boss@lee-corp.example'],
      bcc: [sam],
      subject: 'Sam in Bcc',
      text: 'psst',
    });
    const recorded = await eventually(async () => {
      const list = await crm.messages('ct_lee');
      expect(list).toHaveLength(2);
      return list;
    });
    expect(recorded.map((m) => [m.direction, m.provider.messageId])).toEqual([
      ['inbound', cc.message.id],
      ['inbound', bcc.message.id],
    ]);
    expect(recorded[0].to).toEqual([expect.objectContaining({ address: 'boss@lee-corp.example' })]);
    expect(recorded[0].cc).toEqual([expect.objectContaining({ address: sam })]);
    expect(await crm.contactsByEmail('boss@lee-corp.example')).toEqual([]);

    const sent = await crm.sendAndWait('ct_lee', {
      subject: 'Cc and Bcc',
      text: 'To all of you',
      cc: [{ address: ccBox }],
      bcc: [{ address: bccBox }],
    });
    expect(sent.cc).toEqual([expect.objectContaining({ address: ccBox })]);
    expect(sent.bcc).toEqual([expect.objectContaining({ address: bccBox })]);
    const atLee = copies(platform, lee, 'Cc and Bcc').inbox;
    expect(atLee).toHaveLength(1);
    expect(atLee[0].cc.map((a) => a.address)).toEqual([ccBox]);
    expect(atLee[0].bcc).toEqual([]);
    expect(copies(platform, ccBox, 'Cc and Bcc').inbox).toHaveLength(1);
    expect(copies(platform, bccBox, 'Cc and Bcc').inbox).toHaveLength(1);
    const samSent = copies(platform, sam, 'Cc and Bcc').sent;
    expect(samSent).toHaveLength(1);
    expect(samSent[0].bcc.map((a) => a.address)).toEqual([bccBox]);
    expect(await crm.contactsByEmail(ccBox)).toEqual([]);
    expect(await crm.contactsByEmail(bccBox)).toEqual([]);
    // The Sent copy stays one entry (SYN-5).
    const after = await crm.messages('ct_lee');
    expect(after.filter((m) => m.subject === 'Cc and Bcc').map((m) => m.id)).toEqual([sent.id]);
  });

  it('ADR-2: when several recipients are contacts, the first in header order (To before Cc) owns the conversation and later messages of the thread stay there', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const ana = createMailbox(platform, 'google', 'ana');
    const ben = createMailbox(platform, 'google', 'ben');
    const crm = new CrmUser(platform, 'loc_g4', 'usr_sam');
    await crm.putContact('ct_ana', { email: ana, assignedUserId: 'usr_sam' });
    await crm.putContact('ct_ben', { email: ben, assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_ana', 'ct_ben']);
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const control = platform.sandbox.control;

    // Sam starts a thread from Gmail: a non-contact and Ben in To, Ana in Cc.
    const kickoff = await control.send(sam, {
      to: ['someone@partner.example', ben],
      cc: [ana],
      subject: 'Kick-off',
      text: 'Let us start on Monday.',
    });
    await eventually(async () =>
      expect((await crm.messages('ct_ben')).map((m) => [m.direction, m.provider.messageId])).toEqual([
        ['outbound', kickoff.message.id],
      ]),
    );
    // Ana answers all: the thread belongs to Ben's conversation.
    const anaCopy = copies(platform, ana, 'Kick-off').inbox[0];
    const anaReply = await control.send(ana, { replyTo: anaCopy.id, replyAll: true, text: 'Monday works.' });
    const inSam = await eventually(() => {
      const inbox = copies(platform, sam, 'Kick-off').inbox;
      expect(inbox).toHaveLength(1);
      return inbox[0];
    });
    expect(anaReply.message.messageId).toBe(inSam.messageId);
    await eventually(async () =>
      expect((await crm.messages('ct_ben')).map((m) => [m.direction, m.provider.messageId])).toEqual([
        ['outbound', kickoff.message.id],
        ['inbound', inSam.id],
      ]),
    );
    expect(await crm.messages('ct_ana')).toEqual([]);
    expect(await crm.contactsByEmail('someone@partner.example')).toEqual([]);
  });

  it('ADR-3: when two contacts share an address, the message goes to the contact created first', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const crm = new CrmUser(platform, 'loc_g5', 'usr_sam');
    // The later PUT carries the earlier creation time: "created first" is the CRM's creation time.
    await crm.putContact('ct_dup_new', {
      email: 'shared@family.example',
      createdAt: '2026-03-01T00:00:00.000Z',
      assignedUserId: 'usr_sam',
    });
    await crm.putContact('ct_dup_old', {
      email: 'Shared@Family.example',
      createdAt: '2025-06-01T00:00:00.000Z',
      assignedUserId: 'usr_sam',
    });
    await crm.contactsProjected(['ct_dup_new', 'ct_dup_old']);
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);

    const mail = await platform.sandbox.control.deliver(sam, {
      from: 'shared@family.example',
      subject: 'Family plan',
      text: 'Hi',
    });
    await eventually(async () =>
      expect((await crm.messages('ct_dup_old')).map((m) => m.provider.messageId)).toEqual([mail.message.id]),
    );
    expect(await crm.messages('ct_dup_new')).toEqual([]);
  });

  it('ADR-4: a message the user forwards from Gmail to an existing contact is recorded as outbound under that contact, with its attachment', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const fran = createMailbox(platform, 'google', 'fran');
    const crm = new CrmUser(platform, 'loc_g6', 'usr_sam');
    await crm.putContact('ct_fran', { email: fran, assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_fran']);
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const control = platform.sandbox.control;

    const pdf = Buffer.from(
      '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
    );
    const original = await control.deliver(sam, {
      from: 'Vendor <vendor@supplier.example>',
      subject: 'Price list',
      text: 'Our prices for 2027.',
      attachments: [{ filename: 'prices.pdf', contentType: 'application/pdf', content: pdf }],
    });
    const forward = await control.send(sam, {
      forward: original.message.id,
      to: [fran],
      text: 'FYI, see below.',
    });
    const recorded = await eventually(async () => {
      const list = await crm.messages('ct_fran');
      expect(list).toHaveLength(1);
      return list[0];
    });
    expect(recorded).toMatchObject({
      direction: 'outbound',
      source: 'mailbox',
      status: 'sent',
      subject: forward.message.subject,
      provider: { name: 'google', messageId: forward.message.id },
    });
    expect(recorded.subject).toMatch(/^Fwd?:/i);
    expect(recorded.attachments).toEqual([
      expect.objectContaining({ filename: 'prices.pdf', size: pdf.length }),
    ]);
    // ATT-3: the bytes come back from the platform's object store as they were.
    const download = await crm.attachment(recorded.attachments[0].id);
    expect(download.status).toBe(200);
    expect(download.bytes.equals(pdf)).toBe(true);
    // The vendor's own mail never became anything in the CRM.
    expect(await crm.contactsByEmail('vendor@supplier.example')).toEqual([]);
  });

  it('SYN-5, SYN-6: with every push notification delivered twice, and mail arriving out of date order, each message is recorded once, in the order it was sent', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const crm = new CrmUser(platform, 'loc_g7', 'usr_sam');
    await crm.putContact('ct_ola', { email: 'ola@example.com', assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_ola']);
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const control = platform.sandbox.control;
    // By record, not by index: the sandbox keeps only its newest records, so an index can shift.
    const pushesBefore = new Set(control.notifications('google'));
    control.setNotificationBehaviour('google', { duplicate: true });
    try {
      const minute = 60_000;
      const now = Date.now();
      // Delayed delivery: the mail arrives in another order than it was written.
      const third = await control.deliver(sam, {
        from: 'ola@example.com',
        subject: 'Third',
        text: '3',
        date: new Date(now - 1 * minute),
      });
      const first = await control.deliver(sam, {
        from: 'ola@example.com',
        subject: 'First',
        text: '1',
        date: new Date(now - 3 * minute),
      });
      const second = await control.deliver(sam, {
        from: 'ola@example.com',
        subject: 'Second',
        text: '2',
        date: new Date(now - 2 * minute),
      });
      const list = await eventually(async () => {
        const all = await crm.messages('ct_ola');
        expect(all).toHaveLength(3);
        return all;
      });
      expect(list.map((m) => m.provider.messageId)).toEqual([
        first.message.id,
        second.message.id,
        third.message.id,
      ]);
      expect(list.map((m) => m.subject)).toEqual(['First', 'Second', 'Third']);
      // The pushes really were delivered twice each.
      const pushes = control
        .notifications('google')
        .filter((n) => !pushesBefore.has(n) && n.outcome === 'acked');
      expect(new Set(pushes.map((n) => n.id)).size).toBeLessThan(pushes.length);
    } finally {
      control.setNotificationBehaviour('google', { duplicate: false });
    }
    // Still three once everything has settled: a later message of the mailbox comes after the duplicates.
    await waitUntilObserved(platform, sam);
    expect(await crm.messages('ct_ola')).toHaveLength(3);
  });

  it('SYN-6: an auto-reply dated within the same second as the CRM email it answers is listed after that email', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const crm = new CrmUser(platform, 'loc_g8', 'usr_sam');
    await crm.putContact('ct_ooo', { email: 'ooo@example.com', assignedUserId: 'usr_sam' });
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const sent = await crm.sendAndWait('ct_ooo', { subject: 'Meeting', text: 'Can we meet on Friday?' });
    const sentCopy = copies(platform, sam, 'Meeting').sent[0];
    // An out-of-office responder answers at once: its Date header (whole seconds, like every Date header) is the
    // second in which the CRM email was written.
    const requestedAt = Date.parse((await crm.message(sent.id))!.createdAt);
    const autoReply = await platform.sandbox.control.deliver(sam, {
      from: 'ooo@example.com',
      subject: 'Automatic reply: Meeting',
      inReplyTo: sentCopy.messageId,
      date: new Date(Math.floor(requestedAt / 1000) * 1000),
      text: 'I am out of the office until Monday.',
    });
    const list = await eventually(async () => {
      const all = await crm.messages('ct_ooo');
      expect(all).toHaveLength(2);
      return all;
    });
    expect(list.map((m) => m.provider.messageId)).toEqual([sentCopy.id, autoReply.message.id]);
  });
});
