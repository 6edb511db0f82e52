import {
  decodeEncodedWords,
  parseAddressList,
  parseMessageIds,
  parseHeaderBlock,
  parseParameterHeader,
  rewriteHeaders,
  splitMessage,
} from './mime-headers';
import { extractContent, parseMime, splitMultipart } from './mime-parser';

const CRLF = '\r\n';
const message = [
  'From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.com>',
  'To: "Doe, Jane" <jane@example.com>, bob@example.com',
  'Subject: =?UTF-8?B?w5xiZXI=?= =?UTF-8?B?c2ljaHQ=?=',
  'Message-ID: <m1@example.com>',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'preamble',
  '--outer',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=FC=DFe, soft=',
  'break',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Hi</p>',
  '--inner--',
  '--outer',
  "Content-Type: application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf",
  'Content-Disposition: attachment',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.4').toString('base64'),
  '--outer--',
  'epilogue',
].join(CRLF);

describe('MIME parsing', () => {
  it('builds the part tree with decoded headers, bodies and filenames', () => {
    const root = parseMime(Buffer.from(message, 'latin1'));
    expect(root.mimeType).toBe('multipart/mixed');
    expect(root.headers.find((h) => h.name === 'Subject')?.value).toBe('Übersicht');
    expect(root.parts.map((p) => p.mimeType)).toEqual(['multipart/alternative', 'application/pdf']);
    const [text, html] = root.parts[0].parts;
    expect(text.body.toString('latin1')).toBe('Grüße, softbreak');
    expect(html.body.toString()).toBe('<p>Hi</p>');
    expect(root.parts[1].filename).toBe('résumé.pdf');
    expect(root.parts[1].body.toString()).toBe('%PDF-1.4');
  });

  it('extracts text, html and attachments', () => {
    const content = extractContent(parseMime(Buffer.from(message, 'latin1')));
    expect(content.text).toBe('Grüße, softbreak');
    expect(content.html).toBe('<p>Hi</p>');
    expect(content.attachments).toEqual([
      expect.objectContaining({ filename: 'résumé.pdf', contentType: 'application/pdf', inline: false }),
    ]);
  });

  it('treats a body-less message and LF line endings leniently', () => {
    const lf = parseMime(Buffer.from('Subject: hi\n\nbody\n'));
    expect(lf.headers).toEqual([{ name: 'Subject', value: 'hi' }]);
    expect(lf.body.toString()).toBe('body\n');
    expect(parseMime(Buffer.from('Subject: only headers')).body.length).toBe(0);
  });

  it('splits multipart bodies only at delimiter lines', () => {
    const body = Buffer.from(['--b', '', 'one --b inside', '--b', '', 'two', '--b--'].join(CRLF));
    expect(splitMultipart(body, 'b').map((p) => p.toString())).toEqual([
      `${CRLF}one --b inside`,
      `${CRLF}two`,
    ]);
  });
});

describe('header helpers', () => {
  it('parses address lists with quoted commas, groups and encoded names', () => {
    expect(
      parseAddressList('"Doe, Jane" <jane@example.com>, bob@example.com (Bob), team: a@x.test, b@x.test;'),
    ).toEqual([
      { name: 'Doe, Jane', address: 'jane@example.com' },
      { name: 'Bob', address: 'bob@example.com' },
      { name: '', address: 'a@x.test' },
      { name: '', address: 'b@x.test' },
    ]);
    expect(parseAddressList('=?UTF-8?Q?J=C3=BCrgen?= <j@x.test>')).toEqual([
      { name: 'Jürgen', address: 'j@x.test' },
    ]);
  });

  it('decodes adjacent encoded words without the space between them', () => {
    expect(decodeEncodedWords('=?UTF-8?B?w5xiZXI=?= =?UTF-8?B?c2ljaHQ=?= done')).toBe('Übersicht done');
    expect(decodeEncodedWords('=?ISO-8859-1?Q?caf=E9_au_lait?=')).toBe('café au lait');
  });

  it('reads RFC 2231 continuations', () => {
    expect(
      parseParameterHeader("attachment; filename*0*=utf-8''long%20na; filename*1*=me.txt").params.filename,
    ).toBe('long name.txt');
    expect(parseParameterHeader('text/plain; charset="utf-8"; format=flowed')).toEqual({
      value: 'text/plain',
      params: { charset: 'utf-8', format: 'flowed' },
    });
  });

  it('unfolds a header whose value starts on the next line without a leading space (as Gmail returns it)', () => {
    const headers = parseHeaderBlock('Message-ID:\r\n <long.id@box.example>\r\nSubject: a\r\n b');
    expect(headers).toEqual([
      { name: 'Message-ID', value: '<long.id@box.example>' },
      { name: 'Subject', value: 'a b' },
    ]);
  });

  it('extracts message ids with brackets', () => {
    expect(parseMessageIds('<a@x> <b@y>')).toEqual(['<a@x>', '<b@y>']);
    expect(parseMessageIds('c@z')).toEqual(['<c@z>']);
    expect(parseMessageIds(undefined)).toEqual([]);
  });

  it('rewrites, adds and removes top-level headers without touching the body', () => {
    const raw = Buffer.from(`From: a@x\r\nBcc: hidden@x,\r\n more@x\r\nSubject: s\r\n\r\nBcc: not a header`);
    const out = rewriteHeaders(raw, { Bcc: undefined, From: 'b@x', 'Message-ID': '<n@x>' }).toString();
    expect(out).toBe(`From: b@x\r\nSubject: s\r\nMessage-ID: <n@x>\r\n\r\nBcc: not a header`);
    expect(splitMessage(Buffer.from(out)).body.toString()).toBe('Bcc: not a header');
  });
});
