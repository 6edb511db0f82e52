import { Topics } from '@mailbridge/contracts';
import { CrmUser, copies, createMailbox, eventually, waitUntilObserved } from './harness/crm';
import { Platform, startPlatform } from './harness/platform.harness';
import { topicEvents } from './harness/topics';

jest.setTimeout(300_000);

/** A Postfix DSN (bounce(8) with DSN, as Postfix writes it) for `original`, with no In-Reply-To: only the headers part names it. */
function postfixDsn(to: string, failed: string, original: string): string {
  return [
    'Return-Path: <>',
    'Date: Tue, 24 Nov 2026 09:01:02 +0000 (UTC)',
    'From: MAILER-DAEMON@mx.nowhere.example (Mail Delivery System)',
    'Subject: Undelivered Mail Returned to Sender',
    `To: ${to}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status;',
    '\tboundary="3B4C81C2F1.1785834062/mx.nowhere.example"',
    `Message-Id: <dsn.${Date.now()}@mx.nowhere.example>`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    '--3B4C81C2F1.1785834062/mx.nowhere.example',
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.nowhere.example.',
    '',
    "I'm sorry to have to inform you that your message could not",
    'be delivered to one or more recipients.',
    '',
    `<${failed}>: host mx.nowhere.example[192.0.2.25] said: 550 5.1.1`,
    `    <${failed}>: Recipient address rejected: User unknown in virtual mailbox table`,
    '',
    '--3B4C81C2F1.1785834062/mx.nowhere.example',
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.nowhere.example',
    '',
    `Final-Recipient: rfc822; ${failed}`,
    'Action: failed',
    'Status: 5.1.1',
    `Diagnostic-Code: smtp; 550 5.1.1 <${failed}>: Recipient address rejected: User unknown`,
    '',
    '--3B4C81C2F1.1785834062/mx.nowhere.example',
    'Content-Description: Undelivered Message Headers',
    'Content-Type: text/rfc822-headers',
    '',
    `From: ${to}`,
    `To: ${failed}`,
    'Subject: Proposal',
    `Message-ID: ${original}`,
    '',
    '--3B4C81C2F1.1785834062/mx.nowhere.example--',
    '',
  ].join('\r\n');
}

describe('who wrote it: classification, bounces, contact.replied (e2e, Gmail)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ label: 'replies' });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  const activity = async (type: string, key: string) =>
    (await topicEvents(platform, Topics.conversationsActivity)).filter(
      (e) => e.type === type && e.key === key,
    );

  it('SYN-9: an out-of-office is `auto_reply` and no contact.replied; the human reply is `human` and contact.replied on the topic', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const casey = createMailbox(platform, 'google', 'casey');
    const crm = new CrmUser(platform, 'loc_w1', 'usr_sam');
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    await crm.putContact('ct_casey', { email: casey, name: 'Casey', assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_casey']);

    const sent = await crm.sendAndWait('ct_casey', { subject: 'Your quote', text: 'Hi Casey, the quote.' });
    const atCasey = await eventually(() => {
      const inbox = copies(platform, casey, 'Your quote').inbox;
      expect(inbox).toHaveLength(1);
      return inbox[0];
    });

    // Casey's Gmail vacation responder answers first (RFC 3834 marks it), then Casey herself.
    await platform.sandbox.control.deliver(sam, {
      from: `Casey <${casey}>`,
      subject: 'Automatic reply: Your quote',
      text: 'I am away until Monday.',
      inReplyTo: atCasey.messageId,
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    await platform.sandbox.control.send(casey, {
      replyTo: atCasey.messageId,
      text: 'Thanks Sam, looks good!',
    });

    const [oof, reply] = await eventually(async () => {
      const inbound = (await crm.messages('ct_casey')).filter((m) => m.direction === 'inbound');
      expect(inbound).toHaveLength(2);
      return [
        inbound.find((m) => m.subject.startsWith('Automatic reply'))!,
        inbound.find((m) => !m.subject.startsWith('Automatic reply'))!,
      ];
    });
    expect(oof.classification).toBe('auto_reply');
    expect(reply.classification).toBe('human');
    expect((await crm.message(sent.id))?.classification ?? null).toBeNull();

    const replied = await eventually(async () => {
      const events = await activity('contact.replied', 'loc_w1:ct_casey');
      expect(events.length).toBeGreaterThan(0);
      return events;
    });
    // One signal, for the human reply only (the out-of-office was recorded first, so its event would be first).
    expect(replied).toHaveLength(1);
    expect(replied[0].payload).toMatchObject({
      locationId: 'loc_w1',
      contactId: 'ct_casey',
      messageId: reply.id,
      inReplyToMessageId: sent.id,
      from: { address: casey },
    });
  });

  it('SYN-9: a DSN for a CRM send (Postfix, no In-Reply-To) marks the send `bounced` with the status and diagnostic, and message.bounced is on the topic', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const crm = new CrmUser(platform, 'loc_w2', 'usr_sam');
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const ghost = 'ghost@nowhere.example';
    await crm.putContact('ct_ghost', { email: ghost, name: 'Ghost', assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_ghost']);

    const sent = await crm.sendAndWait('ct_ghost', {
      subject: 'Proposal',
      text: 'Please find the proposal.',
    });
    const sentCopy = await eventually(() => {
      const copy = copies(platform, sam, 'Proposal').sent;
      expect(copy).toHaveLength(1);
      return copy[0];
    });
    await platform.sandbox.control.deliver(sam, { raw: postfixDsn(sam, ghost, sentCopy.messageId!) });

    const bounced = await crm.waitForStatus(sent.id, 'bounced');
    expect(bounced.bounce).toMatchObject({
      status: '5.1.1',
      recipients: [{ address: ghost, status: '5.1.1' }],
    });
    expect(bounced.bounce?.diagnostic).toContain('User unknown');
    const report = (await crm.messages('ct_ghost')).find((m) => m.id === bounced.bounce?.bounceMessageId);
    expect(report).toMatchObject({ direction: 'inbound', classification: 'bounce' });

    const events = await eventually(async () => {
      const found = await activity('message.bounced', 'loc_w2:ct_ghost');
      expect(found).toHaveLength(1);
      return found;
    });
    expect(events[0].payload).toMatchObject({ messageId: sent.id, status: '5.1.1' });
    expect(await activity('contact.replied', 'loc_w2:ct_ghost')).toEqual([]);
  });
});
