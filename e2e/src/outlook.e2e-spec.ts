import { CrmUser, copies, createMailbox, eventually, waitUntilObserved } from './harness/crm';
import { Platform, startPlatform } from './harness/platform.harness';

jest.setTimeout(300_000);

const MB = 1024 * 1024;

/** A PDF (by its content, ATT-2) of about `bytes` bytes. */
function pdf(bytes: number, seed = 'x'): Buffer {
  const head = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n');
  const tail = Buffer.from('\ntrailer << /Root 1 0 R >>\n%%EOF\n');
  return Buffer.concat([head, Buffer.alloc(Math.max(0, bytes - head.length - tail.length), seed), tail]);
}

/** A Windows executable (by its content): not a supported attachment type, whatever its name says (ATT-2). */
const EXE = Buffer.concat([
  Buffer.from('MZ'),
  Buffer.alloc(62, 0),
  Buffer.from('PE\0\0'),
  Buffer.alloc(200, 1),
]);

/**
 * Microsoft 365 / Outlook end to end: the four services as separate processes, the Graph and Microsoft identity
 * emulators (https, their own CA), driven only through the CRM API and the emulator's control API.
 */
describe('Outlook two-way sync (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ label: 'outlook' });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('CON-1, SYN-1, SND-1, SYN-5, SYN-2, SND-5: connect Outlook → send from the CRM → the contact replies → the reply is in the conversation; the CRM reply and the user’s own Outlook answer stay in the thread', async () => {
    const sam = createMailbox(platform, 'microsoft', 'sam');
    const robin = createMailbox(platform, 'microsoft', 'robin');
    const crm = new CrmUser(platform, 'loc_o1', 'usr_sam');
    const status = await crm.connect('microsoft', sam);
    expect(status).toMatchObject({ provider: 'microsoft', status: 'active', syncScope: 'crm_threads' });
    await waitUntilObserved(platform, sam);
    await crm.putContact('ct_robin', { email: robin, name: 'Robin', assignedUserId: 'usr_sam' });

    const sent = await crm.sendAndWait('ct_robin', { subject: 'Proposal', text: 'Hi Robin, the proposal.' });
    const outgoing = copies(platform, sam, 'Proposal');
    expect(outgoing.sent).toHaveLength(1);
    expect(outgoing.sent[0].from?.address).toBe(sam);
    expect(sent.provider).toEqual({
      name: 'microsoft',
      messageId: outgoing.sent[0].id,
      threadId: outgoing.sent[0].threadId,
    });
    const atRobin = copies(platform, robin, 'Proposal').inbox;
    expect(atRobin).toHaveLength(1);

    await platform.sandbox.control.send(robin, { replyTo: atRobin[0].id, text: 'Looks fine, one question.' });
    const replyInSam = await eventually(() => {
      const inbox = copies(platform, sam, 'Proposal').inbox;
      expect(inbox).toHaveLength(1);
      return inbox[0];
    });
    const afterReply = await eventually(async () => {
      const list = await crm.messages('ct_robin');
      expect(list.map((m) => [m.direction, m.source])).toEqual([
        ['outbound', 'crm'],
        ['inbound', 'mailbox'],
      ]);
      return list;
    });
    expect(afterReply[0].id).toBe(sent.id);
    expect(afterReply[1]).toMatchObject({
      status: 'received',
      from: expect.objectContaining({ address: robin }),
      provider: { name: 'microsoft', messageId: replyInSam.id, threadId: outgoing.sent[0].threadId },
    });

    // SND-5: a CRM reply is a Graph createReply: same conversation for Sam and for Robin.
    const crmReply = await crm.sendAndWait('ct_robin', {
      subject: 'RE: Proposal',
      text: 'Happy to answer it.',
      replyToMessageId: afterReply[1].id,
    });
    const samSent = copies(platform, sam, 'Proposal').sent;
    expect(samSent).toHaveLength(2);
    const crmReplyCopy = samSent.find((m) => m.id === crmReply.provider.messageId)!;
    expect(crmReplyCopy.threadId).toBe(outgoing.sent[0].threadId);
    expect(crmReplyCopy.inReplyTo).toBe(replyInSam.messageId);
    const robinInbox = copies(platform, robin, 'Proposal').inbox;
    expect(robinInbox).toHaveLength(2);
    expect(new Set(robinInbox.map((m) => m.threadId)).size).toBe(1);

    // SYN-2 outbound: Sam answers Robin from Outlook itself.
    const own = await platform.sandbox.control.send(sam, {
      replyTo: replyInSam.id,
      text: 'And a PS from Outlook.',
    });
    const final = await eventually(async () => {
      const list = await crm.messages('ct_robin');
      expect(list).toHaveLength(4);
      return list;
    });
    expect(final.map((m) => m.id).slice(0, 3)).toEqual([sent.id, afterReply[1].id, crmReply.id]);
    expect(final[3]).toMatchObject({
      direction: 'outbound',
      source: 'mailbox',
      status: 'sent',
      provider: { name: 'microsoft', messageId: own.message.id, threadId: outgoing.sent[0].threadId },
    });
    expect(new Set(final.map((m) => m.provider.messageId)).size).toBe(4);
  });

  it('SYN-3: under Outlook’s default scope (crm_threads) a thread started in the mailbox never syncs, even with an assigned contact, and the CRM is told; after switching the connection to contact_mail it does', async () => {
    const sam = createMailbox(platform, 'microsoft', 'sam');
    const crm = new CrmUser(platform, 'loc_o2', 'usr_sam');
    await crm.putContact('ct_max', { email: 'max@example.com', assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_max']);
    await crm.connect('microsoft', sam);
    await waitUntilObserved(platform, sam);
    const control = platform.sandbox.control;

    const inbound = await control.deliver(sam, {
      from: 'Max <max@example.com>',
      subject: 'New idea',
      text: 'Call me?',
    });
    const outbound = await control.send(sam, {
      to: ['max@example.com'],
      subject: 'Lunch?',
      text: 'Tomorrow?',
    });
    await eventually(async () =>
      expect(
        (await crm.syncEvents({ contactId: 'ct_max' })).map((e) => [
          e.kind,
          e.reason,
          e.rule,
          e.providerMessageId,
        ]),
      ).toEqual(
        expect.arrayContaining([
          ['message_skipped', 'scope_crm_threads', 'SYN-3', inbound.message.id],
          ['message_skipped', 'scope_crm_threads', 'SYN-3', outbound.message.id],
        ]),
      ),
    );
    expect(await crm.messages('ct_max')).toEqual([]);

    const patched = await crm.setSyncScope('contact_mail');
    expect(patched.status).toBe(200);
    expect((await crm.connection()).body.syncScope).toBe('contact_mail');
    // The setting reaches sync-engine as an event: new mail from Max syncs once it has arrived there.
    let n = 0;
    const synced = await eventually(async () => {
      const mail = await control.deliver(sam, {
        from: 'max@example.com',
        subject: `Another idea ${++n}`,
        text: '!',
      });
      return eventually(async () => {
        const list = await crm.messages('ct_max');
        expect(list.map((m) => m.provider.messageId)).toContain(mail.message.id);
        return list;
      }, 10_000);
    });
    expect(synced.every((m) => m.subject.startsWith('Another idea'))).toBe(true);
    expect(synced.map((m) => m.provider.messageId)).not.toContain(inbound.message.id);
  });

  it('ATT-1, ATT-2, ATT-3: inbound, a message with an attachment over Outlook’s 3 MB does not sync and the CRM is told which and why; an unsupported attachment is left behind with a note; a supported one downloads byte for byte. Outbound, an oversized or unsupported attachment is refused before anything is sent', async () => {
    const sam = createMailbox(platform, 'microsoft', 'sam');
    const kai = createMailbox(platform, 'google', 'kai');
    const crm = new CrmUser(platform, 'loc_o3', 'usr_sam');
    await crm.connect('microsoft', sam);
    await waitUntilObserved(platform, sam);
    await crm.putContact('ct_kai', { email: kai, assignedUserId: 'usr_sam' });
    const control = platform.sandbox.control;

    // A CRM thread (Outlook scope), carrying a 1 MB PDF out through Graph.
    const quote = pdf(1 * MB, 'q');
    const sent = await crm.sendAndWait('ct_kai', {
      subject: 'Contract',
      text: 'Attached.',
      attachments: [
        { filename: 'contract.pdf', contentType: 'application/pdf', contentBase64: quote.toString('base64') },
      ],
    });
    const atKai = copies(platform, kai, 'Contract').inbox;
    expect(atKai).toHaveLength(1);
    expect(
      atKai[0].attachments.map((a) => [a.filename, Buffer.from(a.contentBase64, 'base64').equals(quote)]),
    ).toEqual([['contract.pdf', true]]);
    expect(sent.attachments).toEqual([
      expect.objectContaining({ filename: 'contract.pdf', size: quote.length }),
    ]);

    // Kai answers three times: a 3.5 MB PDF, an executable, a small signed PDF.
    const big = pdf(3.5 * MB, 'b');
    const signed = pdf(20_000, 's');
    const tooBig = await control.send(kai, {
      replyTo: atKai[0].id,
      text: 'Scanned copy attached.',
      attachments: [{ filename: 'scan.pdf', contentType: 'application/pdf', content: big }],
    });
    const withExe = await control.send(kai, {
      replyTo: atKai[0].id,
      text: 'And the signing tool.',
      attachments: [{ filename: 'signer.exe', contentType: 'application/octet-stream', content: EXE }],
    });
    const withPdf = await control.send(kai, {
      replyTo: atKai[0].id,
      text: 'Signed.',
      attachments: [{ filename: 'signed.pdf', contentType: 'application/pdf', content: signed }],
    });
    const inSam = await eventually(() => {
      const inbox = copies(platform, sam, 'Contract').inbox;
      expect(inbox).toHaveLength(3);
      return inbox;
    });
    const samCopy = (messageId: string | undefined) => inSam.find((m) => m.messageId === messageId)!;
    const list = await eventually(async () => {
      const all = await crm.messages('ct_kai');
      expect(all).toHaveLength(3);
      return all;
    });
    expect(list.map((m) => m.provider.messageId)).toEqual([
      sent.provider.messageId,
      samCopy(withExe.message.messageId).id,
      samCopy(withPdf.message.messageId).id,
    ]);
    // ATT-1: the oversized one is a sync event naming it, not a silent gap.
    await eventually(async () =>
      expect(await crm.syncEvents({ contactId: 'ct_kai' })).toEqual([
        expect.objectContaining({
          kind: 'message_skipped',
          reason: 'attachment_too_large',
          rule: 'ATT-1',
          providerMessageId: samCopy(tooBig.message.messageId).id,
        }),
      ]),
    );
    // ATT-2: the executable is left behind with a note; the message itself synced.
    expect(list[1].attachments).toEqual([
      expect.objectContaining({ filename: 'signer.exe', omittedReason: 'attachment_type_unsupported' }),
    ]);
    expect((await crm.attachment(list[1].attachments[0].id)).status).toBe(404);
    // ATT-3: the supported one comes back from the object store byte for byte.
    expect(list[2].attachments).toEqual([
      expect.objectContaining({ filename: 'signed.pdf', size: signed.length }),
    ]);
    const download = await crm.attachment(list[2].attachments[0].id);
    expect(download.status).toBe(200);
    expect(download.contentType).toContain('application/pdf');
    expect(download.bytes.equals(signed)).toBe(true);

    // Outbound: refused with 422 before anything is sent (nothing new in Sent, Drafts or Kai's inbox).
    const oversized = await crm.send('ct_kai', {
      subject: 'Scan back',
      text: 'Too big for Outlook.',
      attachments: [
        { filename: 'scan.pdf', contentType: 'application/pdf', contentBase64: big.toString('base64') },
      ],
    });
    expect(oversized.status).toBe(422);
    expect(oversized.body.error?.code).toBe('attachment_too_large');
    const disguised = await crm.send('ct_kai', {
      subject: 'Invoice',
      text: 'An executable named like a PDF.',
      attachments: [
        { filename: 'invoice.pdf', contentType: 'application/pdf', contentBase64: EXE.toString('base64') },
      ],
    });
    expect(disguised.status).toBe(422);
    expect(disguised.body.error?.code).toBe('attachment_type_unsupported');
    const box = platform.sandbox.control.mailbox(sam);
    expect(box.sent.filter((m) => m.subject.includes('Scan back') || m.subject.includes('Invoice'))).toEqual(
      [],
    );
    expect(box.drafts).toEqual([]);
    expect(copies(platform, kai, 'Scan back').inbox).toEqual([]);
    expect((await crm.messages('ct_kai')).map((m) => m.subject)).not.toContain('Invoice');
  });
});
