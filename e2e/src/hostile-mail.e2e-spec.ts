import { CrmUser, createMailbox, decisions, eventually, waitUntilObserved } from './harness/crm';
import { Platform, startPlatform } from './harness/platform.harness';

jest.setTimeout(300_000);

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

/**
 * A message whose subject is `=?UTF-8?B?aGVsbG8A?=` ("hello" + NUL, the message that halted a mailbox for good),
 * with NUL in the sender's display name, in the text body (raw 8bit) and in an attachment's file name.
 */
function nulMessage(from: { name: string; address: string }, to: string, tag: string): Buffer {
  const boundary = `nul-${tag}`;
  return Buffer.concat([
    Buffer.from(
      `From: =?UTF-8?B?${b64(from.name)}?= <${from.address}>\r\n` +
        `To: ${to}\r\n` +
        'Subject: =?UTF-8?B?aGVsbG8A?=\r\n' +
        `Message-ID: <${tag}@hostile.example>\r\n` +
        'Date: Sun, 06 Dec 2026 05:00:00 +0000\r\n' +
        'MIME-Version: 1.0\r\n' +
        `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
        `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`,
    ),
    Buffer.from([0x68, 0x69, 0x00, 0x74, 0x68, 0x65, 0x72, 0x65]), // "hi\0there"
    Buffer.from(
      `\r\n--${boundary}\r\nContent-Type: application/pdf\r\n` +
        `Content-Disposition: attachment; filename*=UTF-8''quote%00.pdf\r\n` +
        `Content-Transfer-Encoding: base64\r\n\r\n${b64(PDF)}\r\n--${boundary}--\r\n`,
    ),
  ]);
}

/**
 * Loss path 1 of issue 14, end to end: PostgreSQL `text`/`jsonb` cannot hold U+0000, and one such character in one
 * stranger's message used to fail mail-gateway's outbox insert on every pull, so no later message of the mailbox
 * ever synced. Text from outside is now made storable once (NUL, lone surrogates → U+FFFD).
 */
describe('hostile mail text (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({ label: 'hostile-mail' });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it("loss path 1, SYN-10: a NUL subject (=?UTF-8?B?aGVsbG8A?=) with NUL in body, file name and display name, from a stranger and from a contact, never stops the mailbox: the contact's message syncs as storable text and a later message syncs", async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const crm = new CrmUser(platform, 'loc_nul', 'usr_sam');
    await crm.putContact('ct_jo', { email: 'jo@example.com', name: 'Jo', assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_jo']);
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const control = platform.sandbox.control;

    const stranger = await control.deliver(sam, {
      raw: nulMessage({ name: 'Pat\u0000', address: 'pat@stranger.example' }, sam, 'stranger'),
    });
    const contact = await control.deliver(sam, {
      raw: nulMessage({ name: 'Jo\u0000Doe', address: 'jo@example.com' }, sam, 'contact'),
    });
    const later = await control.deliver(sam, {
      from: 'Jo <jo@example.com>',
      subject: 'After the NUL',
      text: 'Still here',
    });

    const messages = await eventually(async () => {
      const all = await crm.messages('ct_jo');
      expect(all.map((m) => m.provider.messageId).sort()).toEqual(
        [contact.message.id, later.message.id].sort(),
      );
      return all;
    });
    const hostile = messages.find((m) => m.provider.messageId === contact.message.id)!;
    expect(hostile).toMatchObject({
      subject: 'hello\uFFFD',
      text: expect.stringContaining('hi\uFFFDthere'),
      from: { name: 'Jo\uFFFDDoe', address: 'jo@example.com' },
      attachments: [expect.objectContaining({ filename: 'quote\uFFFD.pdf', size: PDF.length })],
    });
    // The stranger's message was decided (SYN-3: not synced, no contact), not left hanging.
    expect(JSON.stringify((await decisions(platform, stranger.message.id)).messages)).toContain(
      'no_matching_contact',
    );
  });
});
