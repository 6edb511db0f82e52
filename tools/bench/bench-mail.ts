// What the bench delivers: by default a one-line plain message (the sandbox composes it), with `--body-kb N` a
// complete RFC 822 message of about N KB, built here (the sandbox stores it as it is): a multipart/alternative with a
// plain part and a quoted-printable HTML part, as a mail client sends them. Real mail is tens of KB; its bodies are
// what the platform inlines into its events (up to MAX_INLINE_BODY_CHARS) and stores.
import { randomBytes } from 'node:crypto';

export interface BenchMail {
  readonly to: string;
  readonly from: string;
  readonly subject: string;
}

/** A bulk-deliver item (`POST /_sandbox/bulk-deliver`) for `mail`, with a body of about `bodyKb` KB (0: one line). */
export function deliveryItem(mail: BenchMail, bodyKb: number): Record<string, string> {
  if (bodyKb <= 0)
    return {
      mailbox: mail.to,
      from: mail.from,
      subject: mail.subject,
      text: `bench message ${mail.subject}`,
    };
  return { mailbox: mail.to, raw: rawMessage(mail, bodyKb) };
}

// Words drawn at random (seeded: every run sends the same bytes), so the bodies compress about as prose does, not
// as a repeated sentence would: what PostgreSQL's TOAST compression and Kafka see depends on it.
const WORDS = (
  'the a to of and in for on with about from we you they our your this that it is are was be will can would ' +
  'please thanks regards meeting call proposal contract delivery date next quarter week month team plan budget ' +
  'price quote invoice order account project update review schedule agenda notes attached document draft final ' +
  'version question answer issue request support customer client partner vendor product service feature release ' +
  'discuss confirm follow up send receive share check agree change move cancel book start finish ready available'
).split(' ');

/** Lines of at most `width` characters before `wrap`, `bytes` in all. */
function lines(bytes: number, width: number, wrap: (line: string) => string): string {
  let seed = 0x2545f491;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % WORDS.length;
  };
  const out: string[] = [];
  let size = 0;
  while (size < bytes) {
    let line = WORDS[next()];
    for (let w = WORDS[next()]; line.length + 1 + w.length <= width; w = WORDS[next()]) line += ` ${w}`;
    const wrapped = wrap(line);
    out.push(wrapped);
    size += wrapped.length + 2;
  }
  return out.join('\r\n');
}

const bodies = new Map<number, { text: string; html: string }>();

/** The two parts' bodies for a size, built once: half plain, half HTML (`=3D` and soft breaks, as QP has them). */
function bodiesOf(bodyKb: number): { text: string; html: string } {
  let b = bodies.get(bodyKb);
  if (!b) {
    const half = (bodyKb * 1024) / 2;
    b = {
      text: lines(half, 72, (l) => l),
      html: lines(half, 48, (l) => `<p style=3D"margin:0">${l}</p>=`) + '\r\n<br>',
    };
    bodies.set(bodyKb, b);
  }
  return b;
}

export function rawMessage(mail: BenchMail, bodyKb: number): string {
  const { text, html } = bodiesOf(bodyKb);
  const boundary = `b_${randomBytes(8).toString('hex')}`;
  return [
    `From: <${mail.from}>`,
    `To: <${mail.to}>`,
    `Subject: ${mail.subject}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@bench.example>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    text,
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    html,
    `--${boundary}--`,
    '',
  ].join('\r\n');
}
