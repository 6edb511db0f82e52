import { parseSection } from './mime-sections';

const raw = [
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('Delivery to the following recipients failed.').toString('base64'),
  '--b',
  'Content-Type: application/pdf',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.alloc(3000, 0x25).toString('base64'),
  '--b--',
  '',
].join('\r\n');

describe('parseSection', () => {
  it('decodes a leaf body on first read only (issue 16: an attachment classification never reads costs nothing)', () => {
    const [text, pdf] = parseSection(raw).parts;
    for (const leaf of [text, pdf]) expect(Object.getOwnPropertyDescriptor(leaf, 'body')?.get).toBeDefined();
    expect(text.body).toBe('Delivery to the following recipients failed.');
    expect(text.body).toBe(text.body);
    expect(pdf.body).toBe('%'.repeat(3000));
  });

  it('keeps a multipart body as it is (its parts are parsed)', () => {
    const root = parseSection(raw);
    expect(root.parts).toHaveLength(2);
    expect(root.body.startsWith('--b\r\n')).toBe(true);
  });
});
