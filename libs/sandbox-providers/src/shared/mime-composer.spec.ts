import { IdFactory } from './id-factory';
import {
  type ComposeInput,
  composeMessage,
  composePlainMessage,
  composeWithMailComposer,
} from './mime-composer';

/** Seeded inputs around the edges of the direct path: lengths at and past its limits, names, several recipients. */
function inputs(seed: number, n: number): ComposeInput[] {
  const ids = new IdFactory(seed);
  const word = () => ids.alphanumeric(ids.int(1, 12)) + (ids.int(0, 9) === 0 ? '_x' : '');
  const words = (max: number) => {
    let s = word();
    while (s.length < max && ids.int(0, 5) > 0) s += ` ${word()}`;
    return s.slice(0, ids.int(1, max + 5)).trim() || 'w';
  };
  // Mostly lowercase domains (MailComposer lowercases the others: those must take its path).
  const domain = () => {
    const d = ids.alphanumeric(ids.int(1, 15));
    return ids.int(0, 9) === 0 ? d : d.toLowerCase();
  };
  const address = () => ({
    name: ids.int(0, 2) === 0 ? words(20) : '',
    address: `${ids.alphanumeric(ids.int(1, 20))}.${ids.int(0, 99)}@${domain()}.test`,
  });
  return Array.from({ length: n }, () => ({
    from: address(),
    to: Array.from({ length: ids.int(1, 3) }, address),
    subject: words(70),
    text: words(80),
    messageId: `<${ids.alphanumeric(ids.int(10, 40))}.${ids.hex(8)}@${ids.alphanumeric(ids.int(3, 20))}.test>`,
    date: new Date(Date.UTC(2026, 0, 1) + ids.int(0, 86_400_000) * 365),
    keepBcc: false,
  }));
}

describe('composeMessage: the plainest messages written directly (issue 16: MailComposer was the sandbox cost)', () => {
  it('writes exactly the bytes MailComposer builds, for every input it takes the direct path for', async () => {
    let direct = 0;
    for (const input of inputs(16, 400)) {
      const plain = composePlainMessage(input);
      if (!plain) continue;
      direct++;
      expect(plain.toString('latin1')).toBe((await composeWithMailComposer(input)).toString('latin1'));
    }
    // The generator reaches both sides of every limit: both paths are taken often.
    expect(direct).toBeGreaterThan(40);
    expect(direct).toBeLessThan(360);
  });

  it('takes the direct path for a bench message and leaves anything richer to MailComposer', async () => {
    const bench: ComposeInput = {
      from: { name: '', address: 'contact1@contacts.bench.test' },
      to: [{ name: '', address: 'bench1@gmail.bench.test' }],
      subject: 'burst 12',
      text: 'bench message burst 12',
      messageId: '<AbC123.0f0f0f0f@contacts.bench.test>',
      date: new Date(Date.UTC(2026, 11, 6, 18, 22, 43)),
    };
    expect(composePlainMessage(bench)?.toString()).toBe(
      'From: contact1@contacts.bench.test\r\nTo: bench1@gmail.bench.test\r\nSubject: burst 12\r\n' +
        'Message-ID: <AbC123.0f0f0f0f@contacts.bench.test>\r\nDate: Sun, 06 Dec 2026 18:22:43 +0000\r\n' +
        'Content-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
        'bench message burst 12\r\n',
    );
    for (const richer of [
      { html: '<p>x</p>' },
      { cc: [{ name: '', address: 'c@x.test' }] },
      { inReplyTo: '<p@x.test>' },
      { headers: { 'X-A': '1' } },
      { subject: 'Grüße' },
      { subject: '' },
      { text: 'two\nlines' },
      { text: '' },
      { from: { name: "O'Brien", address: 'o@x.test' } },
      { attachments: [{ filename: 'a.txt', content: Buffer.from('a') }] },
    ]) {
      const input = { ...bench, ...richer };
      expect(composePlainMessage(input)).toBeUndefined();
      // MailComposer's multipart boundaries are random: compare with them blanked.
      const bytes = async (build: typeof composeMessage) =>
        (await build(input)).toString().replace(/_NmP-[0-9a-f]+-Part/g, '_NmP-*-Part');
      expect(await bytes(composeMessage)).toBe(await bytes(composeWithMailComposer));
    }
  });
});
