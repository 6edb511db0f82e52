import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { classifyMessage, type MessageClassification } from './message-classification';

const FIXTURES = join(__dirname, 'fixtures');

interface Fixture {
  readonly name: string;
  readonly source: string;
  readonly raw: string;
  readonly expected: MessageClassification;
  readonly fields: ReadonlyMap<string, string>;
}

/** Each fixture starts with `# source: ...` and `# expect: <class> key=value...` lines, then the message (CRLF-free). */
function loadFixture(name: string): Fixture {
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  const lines = text.split('\n');
  const comments = lines.filter(
    (l, i) => l.startsWith('#') && lines.slice(0, i).every((p) => p.startsWith('#')),
  );
  const source =
    comments
      .find((l) => l.startsWith('# source:'))
      ?.slice(9)
      .trim() ?? '';
  const [expected, ...pairs] = (
    comments
      .find((l) => l.startsWith('# expect:'))
      ?.slice(9)
      .trim() ?? ''
  ).split(/\s+(?=[a-z~]+[~]?=)/);
  const fields = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    fields.set(pair.slice(0, at), pair.slice(at + 1));
  }
  // Real mail travels with CRLF line ends.
  const raw = lines.slice(comments.length).join('\r\n');
  return { name, source, raw, expected: expected as MessageClassification, fields };
}

const corpus = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.eml'))
  .sort()
  .map(loadFixture);

describe('SYN-9: classifyMessage on a corpus of real-world shapes', () => {
  it('has a corpus naming its sources and covering every class', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(20);
    for (const f of corpus)
      expect({ name: f.name, source: f.source.length > 10 }).toEqual({ name: f.name, source: true });
    expect(new Set(corpus.map((f) => f.expected))).toEqual(
      new Set(['human', 'auto_reply', 'bounce', 'bulk']),
    );
  });

  it.each(corpus.map((f) => [f.name, f] as const))(
    'SYN-9: %s is classified as its source says',
    (_name, f) => {
      const result = classifyMessage(f.raw);
      expect(result.classification).toBe(f.expected);
      const signal = f.fields.get('signal');
      if (signal) expect(result.signals).toContain(signal);
      if (f.expected !== 'bounce') {
        expect(result.bounce).toBeNull();
        return;
      }
      const bounce = result.bounce!;
      expect(bounce.format).toBe(f.fields.get('format'));
      expect(bounce.recipients[0]?.address.toLowerCase()).toBe(f.fields.get('recipient'));
      expect(bounce.status).toBe(f.fields.get('status'));
      expect(bounce.originalMessageId).toBe(f.fields.get('original'));
      const diagnostic = f.fields.get('diagnostic~');
      if (diagnostic) expect(bounce.diagnostic).toContain(diagnostic);
    },
  );

  it('SYN-9: the same bytes in a Buffer classify the same (what the normaliser hands in)', () => {
    for (const f of corpus)
      expect(classifyMessage(Buffer.from(f.raw, 'utf8')).classification).toBe(f.expected);
  });

  it('SYN-9: a multi-recipient DSN lists only the failed recipients, in report order', () => {
    const f = corpus.find((x) => x.name === 'rfc3464-multi-recipient.eml')!;
    const bounce = classifyMessage(f.raw).bounce!;
    expect(bounce.recipients.map((r) => r.address)).toEqual([
      'arathib@vnet.ibm.com',
      'wsnell@sdcc13.ucsd.edu',
    ]);
    expect(bounce.recipients[1]).toEqual({
      address: 'wsnell@sdcc13.ucsd.edu',
      status: '5.0.0',
      diagnostic: '550 user unknown',
    });
  });

  it('SYN-9: a bounce with no attached original links by In-Reply-To', () => {
    const raw = [
      'From: MAILER-DAEMON@mx.example',
      'Return-Path: <>',
      'Subject: Undelivered Mail Returned to Sender',
      'In-Reply-To: <crm-1@mailbridge.example>',
      '',
      'This is the mail system at host mx.example.',
      '',
      '<x@client.example>: host mx.client.example said: 550 5.1.1 unknown user',
      '',
    ].join('\r\n');
    expect(classifyMessage(raw).bounce?.originalMessageId).toBe('<crm-1@mailbridge.example>');
  });
});

describe('SYN-9: hostile inputs never throw and never claim a bounce they cannot show', () => {
  const gmail = corpus.find((x) => x.name === 'gmail-ndr.eml')!.raw;
  const hostile: Array<[string, string | Buffer]> = [
    ['empty', ''],
    ['only a blank line', '\r\n\r\n'],
    [
      'NUL bytes everywhere',
      `From: a\u0000@b\r\nAuto-Submitted: \u0000auto-replied\r\nSubject: \u0000\r\n\r\n\u0000\u0000`,
    ],
    ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_v, i) => (i * 7919) % 256))],
    [
      'truncated report (cut inside the delivery-status part)',
      gmail.slice(0, gmail.indexOf('Action: failed') + 6),
    ],
    ['truncated before the boundary parameter', gmail.slice(0, gmail.indexOf('boundary=') + 5)],
    [
      'multipart/report without any parts',
      'From: MAILER-DAEMON@x.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\nno parts here\r\n',
    ],
    [
      'multipart/report without a boundary',
      'From: MAILER-DAEMON@x.example\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\n--b\r\n',
    ],
    [
      'delivery-status with garbage recipients',
      'Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; <<<>>>\r\nAction: failed\r\n\r\n--b--\r\n',
    ],
    ['deeply nested multiparts', nest(200)],
    ['a huge header line', `Subject: ${'x'.repeat(600_000)}\r\n\r\nbody`],
    ['broken base64', 'Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@%%%==\r\n'],
  ];

  it.each(hostile)('SYN-9: %s', (_name, raw) => {
    const result = classifyMessage(raw);
    expect(['human', 'auto_reply', 'bounce', 'bulk']).toContain(result.classification);
    if (result.classification === 'bounce') {
      expect(result.bounce?.recipients.length).toBeGreaterThan(0);
      for (const r of result.bounce!.recipients) expect(r.address).toMatch(/^[^\s@<>]+@[^\s@<>]+$/);
    }
  });

  it('SYN-9: a report truncated inside its recipient block still yields what it shows', () => {
    const cut = gmail.slice(0, gmail.indexOf('Remote-MTA: dns; mx.client.example'));
    const result = classifyMessage(cut);
    expect(result.classification).toBe('bounce');
    expect(result.bounce?.recipients[0]?.address).toBe('no-such-person@client.example');
    // The headers part was cut off; the reply headers still link it.
    expect(result.bounce?.originalMessageId).toBe('<crm-send-11@mailbridge.example>');
  });
});

function nest(depth: number): string {
  let out = 'Content-Type: text/plain\r\n\r\nleaf\r\n';
  for (let i = 0; i < depth; i++)
    out = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${out}--b${i}--\r\n`;
  return `From: MAILER-DAEMON@x.example\r\nReturn-Path: <>\r\n${out}`;
}
