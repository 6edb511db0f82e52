import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { composeMime, composeMimeStream, type ComposeMimeInput } from './mime.composer';
import { parseMime, parseMimeStreaming } from './mime.parser';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** The top-level header block, so a failing assertion does not print megabytes of base64. */
const headersOf = (raw: Buffer): string => raw.toString('latin1', 0, raw.indexOf('\r\n\r\n'));

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n');
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(500)]);
const EXE = Buffer.concat([Buffer.from('MZ'), randomBytes(1000)]);

/** A one-entry stored ZIP around `data`, so the big attachment has a real type. */
function zipOf(name: string, data: Buffer): Buffer {
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt32LE(crc32(data), 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(n.length, 26);
  return Buffer.concat([local, n, data]);
}
const BIG_ZIP = zipOf('blob.bin', randomBytes(3 * 1024 * 1024));

function sampleInput(overrides: Partial<ComposeMimeInput> = {}): ComposeMimeInput {
  return {
    from: { name: 'Jörg Müller', address: 'jorg@bücher.example' },
    to: [{ name: 'Doe, John', address: 'John.Doe@Example.com' }, 'ana@x.org'],
    cc: ['"Zoë Ærøskøbing" <zoe@y.org>'],
    bcc: [{ address: 'secret@z.org' }],
    subject: 'Grüße – 你好, a long subject that has to be folded over several lines to stay RFC compliant 🙂',
    text: 'Hallo Welt\nzweite Zeile – ünïcödé',
    html: '<p>Hallo <b>Welt</b> <img src="cid:logo@mailbridge"></p>',
    messageId: '<own.1@bücher.example>',
    inReplyTo: '<parent@x.org>',
    references: ['<root@x.org>', '<parent@x.org>'],
    date: new Date('2025-03-04T05:06:07.000Z'),
    attachments: [
      { filename: 'résumé 2025.pdf', content: PDF, contentType: 'application/pdf' },
      { filename: 'logo.png', content: PNG, contentId: 'logo@mailbridge' },
      {
        filename: 'big.zip',
        content: Readable.from([BIG_ZIP.subarray(0, 1_000_000), BIG_ZIP.subarray(1_000_000)]),
      },
    ],
    keepBcc: true,
    headers: { 'X-Mailbridge-Id': 'msg_123' },
    ...overrides,
  };
}

describe('composeMime → parseMime round trip', () => {
  it('SND-5: gives back ids, threading headers, subject, addresses, bodies and attachments with hashes', async () => {
    const { raw, messageId } = await composeMime(sampleInput());
    expect(messageId).toBe('<own.1@xn--bcher-kva.example>');
    expect(headersOf(raw)).toMatch(/^X-Mailbridge-Id: msg_123\r?$/im);

    const { message, contents } = await parseMime(raw);
    expect(message).toMatchObject({
      messageId: '<own.1@xn--bcher-kva.example>',
      inReplyTo: '<parent@x.org>',
      references: ['<root@x.org>', '<parent@x.org>'],
      subject:
        'Grüße – 你好, a long subject that has to be folded over several lines to stay RFC compliant 🙂',
      from: { name: 'Jörg Müller', address: 'jorg@bücher.example' },
      // nodemailer writes domains in lower case (they are case-insensitive); the local part keeps its case.
      to: [{ name: 'Doe, John', address: 'John.Doe@example.com' }, { address: 'ana@x.org' }],
      cc: [{ name: 'Zoë Ærøskøbing', address: 'zoe@y.org' }],
      bcc: [{ address: 'secret@z.org' }],
      replyTo: [],
      date: '2025-03-04T05:06:07.000Z',
      text: 'Hallo Welt\nzweite Zeile – ünïcödé',
      html: '<p>Hallo <b>Welt</b> <img src="cid:logo@mailbridge"></p>',
    });
    expect(message.sender).toBeUndefined();

    const byName = new Map(message.attachments.map((a, i) => [a.filename, { meta: a, bytes: contents[i] }]));
    expect([...byName.keys()].sort()).toEqual(['big.zip', 'logo.png', 'résumé 2025.pdf']);
    expect(byName.get('résumé 2025.pdf')).toMatchObject({
      meta: {
        declaredContentType: 'application/pdf',
        size: PDF.length,
        sha256: sha256(PDF),
        detected: { kind: 'pdf', supported: true },
        inline: false,
      },
    });
    expect(byName.get('logo.png')!.meta).toMatchObject({
      contentId: 'logo@mailbridge',
      inline: true,
      sha256: sha256(PNG),
      detected: { kind: 'png', mimeType: 'image/png' },
    });
    expect(byName.get('big.zip')!.meta).toMatchObject({
      size: BIG_ZIP.length,
      sha256: sha256(BIG_ZIP),
      detected: { kind: 'zip' },
    });
    for (const { meta, bytes } of byName.values()) expect(sha256(bytes)).toBe(meta.sha256);
  });

  it('drops the Bcc header unless asked to keep it (Gmail send needs it kept)', async () => {
    const { raw } = await composeMime(sampleInput({ keepBcc: false, attachments: [] }));
    expect(headersOf(raw)).not.toMatch(/^Bcc:/im);
    expect((await parseMime(raw)).message.bcc).toEqual([]);
    const kept = await composeMime(sampleInput({ keepBcc: true, attachments: [] }));
    expect(headersOf(kept.raw)).toMatch(/^Bcc: secret@z\.org\r?$/m);
  });

  it('generates a Message-ID from the From domain when none is given', async () => {
    const { raw, messageId } = await composeMime(sampleInput({ messageId: undefined, attachments: [] }));
    expect(messageId).toMatch(/^<[a-z0-9.]+@xn--bcher-kva\.example>$/);
    expect((await parseMime(raw)).message.messageId).toBe(messageId);
  });

  it('streams the same message as the buffered composer', async () => {
    const input = sampleInput({ attachments: [{ filename: 'a.pdf', content: PDF }] });
    const { stream, messageId } = composeMimeStream(input);
    const { message } = await parseMime(stream);
    const buffered = await parseMime(
      (await composeMime(sampleInput({ attachments: [{ filename: 'a.pdf', content: PDF }] }))).raw,
    );
    expect(message.messageId).toBe(messageId);
    expect(message).toEqual(buffered.message);
  });

  it('refuses header injection and invalid ids', async () => {
    const { raw } = await composeMime(
      sampleInput({ subject: 'Hi\r\nBcc: victim@evil.example', attachments: [] }),
    );
    const parsed = await parseMime(raw);
    expect(parsed.message.subject).toBe('Hi Bcc: victim@evil.example');
    expect(parsed.message.bcc).toEqual([{ address: 'secret@z.org' }]);
    await expect(composeMime(sampleInput({ headers: { Subject: 'x' } }))).rejects.toThrow('cannot be set');
    await expect(composeMime(sampleInput({ headers: { 'Bad Name': 'x' } }))).rejects.toThrow('cannot be set');
    await expect(composeMime(sampleInput({ messageId: 'nonsense' }))).rejects.toThrow('Invalid Message-ID');
    await expect(composeMime(sampleInput({ to: ['not an address'] }))).rejects.toThrow('Invalid address');
  });
});

const HAND_WRITTEN = [
  'Received: from mx.example by mx2.example; Tue, 4 Mar 2025 05:06:07 +0000',
  'From: =?UTF-8?Q?Ren=C3=A9e?= <renee@xn--caf-dma.example>',
  'Sender: assistant@cafe.example',
  'To: Team: a@x.org, "B" <b@y.org>;',
  'Cc: undisclosed-recipients:;',
  'Subject: =?ISO-8859-1?Q?R=E9union?=',
  'Date: not a date',
  'Message-ID: <m1@cafe.example>',
  'In-Reply-To: <p1@x.org> (sent by Bob)',
  'References: junk <r1@x.org>',
  '  <r2@x.org> more junk <p1@x.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Body text',
  '--b1',
  'Content-Type: application/octet-stream; name="statement.pdf"',
  'Content-Disposition: attachment; filename="statement.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  PDF.toString('base64'),
  '--b1',
  'Content-Type: application/pdf; name="invoice.pdf"',
  'Content-Disposition: attachment; filename="invoice.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  EXE.toString('base64').replace(/(.{76})/g, '$1\r\n'),
  '--b1--',
  '',
].join('\r\n');

describe('parseMime on real-world shaped input', () => {
  it('SYN-5: reads ids from junk-laden threading headers and tolerates a bad date', async () => {
    const { message } = await parseMime(Buffer.from(HAND_WRITTEN));
    expect(message).toMatchObject({
      messageId: '<m1@cafe.example>',
      inReplyTo: '<p1@x.org>',
      references: ['<r1@x.org>', '<r2@x.org>', '<p1@x.org>'],
      subject: 'Réunion',
      from: { name: 'Renée', address: 'renee@café.example' },
      sender: { address: 'assistant@cafe.example' },
      to: [{ address: 'a@x.org' }, { name: 'B', address: 'b@y.org' }],
      cc: [],
      text: 'Body text',
    });
    expect(message.date).toBeUndefined();
    expect(message.html).toBeUndefined();
  });

  it('ATT-2: detects attachment types by content, not by the declared Content-Type', async () => {
    const { message } = await parseMime(Buffer.from(HAND_WRITTEN));
    const [statement, invoice] = message.attachments;
    expect(statement).toMatchObject({
      filename: 'statement.pdf',
      declaredContentType: 'application/octet-stream',
      detected: { kind: 'pdf', supported: true },
      sha256: sha256(PDF),
    });
    expect(invoice).toMatchObject({
      filename: 'invoice.pdf',
      declaredContentType: 'application/pdf',
      detected: { kind: 'unknown', supported: false, detail: 'executable' },
      size: EXE.length,
      sha256: sha256(EXE),
    });
  });

  it('parses from a stream delivered in small chunks', async () => {
    const raw = Buffer.from(HAND_WRITTEN);
    const chunks = Array.from({ length: Math.ceil(raw.length / 7) }, (_, i) =>
      raw.subarray(i * 7, i * 7 + 7),
    );
    const { message } = await parseMime(Readable.from(chunks));
    expect(message.messageId).toBe('<m1@cafe.example>');
    expect(message.attachments.map((a) => a.sha256)).toEqual([sha256(PDF), sha256(EXE)]);
  });
});

describe('parseMimeStreaming', () => {
  it('ATT-3: hands each attachment to the sink as a stream, with the detected type known up front', async () => {
    const { raw } = await composeMime(sampleInput());
    const seen: Array<{ filename?: string; kind: string; bytes: number; digest: string }> = [];
    const { message, sinkResults } = await parseMimeStreaming(raw, async (head, content) => {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of content) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      const digest = hash.digest('hex');
      seen.push({ filename: head.filename, kind: head.detected.kind, bytes, digest });
      return `stored:${digest}`;
    });
    expect(seen.map((s) => s.kind).sort()).toEqual(['pdf', 'png', 'zip']);
    message.attachments.forEach((attachment, i) => {
      expect(sinkResults[i]).toBe(`stored:${attachment.sha256}`);
      expect(seen[i]).toEqual({
        filename: attachment.filename,
        kind: attachment.detected.kind,
        bytes: attachment.size,
        digest: attachment.sha256,
      });
    });
  });

  it('still hashes the whole attachment when the sink reads nothing or gives up early', async () => {
    const { raw } = await composeMime(sampleInput());
    const lazy = await parseMimeStreaming(raw, async () => 'skipped');
    const big = lazy.message.attachments.find((a) => a.filename === 'big.zip')!;
    expect(big).toMatchObject({ size: BIG_ZIP.length, sha256: sha256(BIG_ZIP) });

    const impatient = await parseMimeStreaming(raw, async (_head, content) => {
      for await (const _chunk of content) break; // reads one chunk, then destroys the stream
      return 'partial';
    });
    expect(impatient.message.attachments.find((a) => a.filename === 'big.zip')!.sha256).toBe(sha256(BIG_ZIP));
    expect(impatient.sinkResults).toEqual(['partial', 'partial', 'partial']);
  });

  it('aborts the parse when the sink fails', async () => {
    const { raw } = await composeMime(sampleInput());
    await expect(
      parseMimeStreaming(raw, async (head) => {
        if (head.filename === 'logo.png') throw new Error('object store down');
        return 'ok';
      }),
    ).rejects.toThrow('object store down');
  });

  it('rejects when the raw stream fails', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(parseMime(broken)).rejects.toThrow('connection reset');
  });
});
