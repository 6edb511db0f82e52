import { headerBlockOf } from './header-block.util';

/** What readers of a head did before: decode all of it, then cut at the first blank line. */
const blockOfWhole = (head: Buffer, encoding: 'latin1' | 'utf8'): string => {
  const text = head.toString(encoding);
  const end = text.search(/\r?\n\r?\n/);
  return end === -1 ? text : text.slice(0, end);
};
const blockOfPrefix = (head: Buffer, encoding: 'latin1' | 'utf8'): string => {
  const block = headerBlockOf(head);
  const text = block.toString(encoding);
  // A cut prefix holds the block and the blank line's first line break, nothing after it.
  return block.length < head.length ? text.replace(/\r?\n$/, '') : blockOfWhole(head, encoding);
};

describe('headerBlockOf', () => {
  it('cuts after the first line feed of the blank line (CRLF, LF and mixed line ends)', () => {
    const cases: Array<[string, string]> = [
      ['Subject: a\r\nFrom: b\r\n\r\nbody\r\n\r\nmore', 'Subject: a\r\nFrom: b\r\n'],
      ['Subject: a\nFrom: b\n\nbody', 'Subject: a\nFrom: b\n'],
      ['Subject: a\r\n\nbody', 'Subject: a\r\n'],
      ['Subject: a\n\r\nbody', 'Subject: a\n'],
    ];
    for (const [raw, block] of cases) expect(headerBlockOf(Buffer.from(raw)).toString()).toBe(block);
  });

  it('is the whole head when it has no blank line (a header block longer than the head)', () => {
    const head = Buffer.from('Subject: a\r\nX-Long: b\r\n');
    expect(headerBlockOf(head)).toBe(head);
  });

  it('leaves a large attachment out of what is decoded', () => {
    const head = Buffer.concat([Buffer.from('Subject: a\r\n\r\n'), Buffer.alloc(256 * 1024, 0x41)]);
    expect(headerBlockOf(head).length).toBe('Subject: a\r\n'.length);
  });

  it('decodes to the same header block as the whole head does, invalid UTF-8 included', () => {
    // Seeded, so a failure reproduces: heads of line breaks, text, and bytes that are not UTF-8 on their own.
    const alphabet = [0x0d, 0x0a, 0x0a, 0x20, 0x3a, 0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xff];
    let seed = 16;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let i = 0; i < 5000; i++) {
      const head = Buffer.from(Array.from({ length: next() % 40 }, () => alphabet[next() % alphabet.length]));
      for (const encoding of ['latin1', 'utf8'] as const)
        expect([head.toString('hex'), blockOfPrefix(head, encoding)]).toEqual([
          head.toString('hex'),
          blockOfWhole(head, encoding),
        ]);
    }
  });
});
