// The soak's traffic and fault mix: a plan of steps drawn from a seeded generator, so one seed always gives the
// same sequence of messages and faults (the timing of the platform's reactions is what varies between runs).

/** mulberry32: small, fast, good enough to pick a mix; the same seed gives the same numbers everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const HOSTILE_VARIANTS = [
  'nul-subject',
  'invalid-charset',
  'no-separator',
  'text-without-subtype',
  'unnamed-parts',
  'thousand-parts',
] as const;
export type HostileVariant = (typeof HOSTILE_VARIANTS)[number];

export type Step =
  | {
      kind: 'mail';
      user: number;
      from: 'contact' | 'stranger';
      contact: number;
      variant: 'plain' | HostileVariant;
    }
  | { kind: 'reused-message-id'; user: number; from: 'contact' | 'stranger'; contact: number }
  | { kind: 'owner-send'; user: number; contact: number }
  | { kind: 'crm-send'; user: number; contact: number }
  | { kind: 'kill'; target: number; downMs: number }
  | {
      kind: 'notifications';
      provider: 'google' | 'microsoft';
      mode: 'drop' | 'duplicate' | 'delay' | 'hold';
      forMs: number;
    }
  | { kind: 'storm'; user: number; status: 429 | 500 | 503; count: number }
  | { kind: 'expire-history'; user: number }
  | { kind: 'revoke'; user: number; reconsentAfterMs: number };

const WEIGHTS: Array<[Step['kind'] | 'hostile', number]> = [
  ['mail', 34],
  ['hostile', 12],
  ['reused-message-id', 5],
  ['owner-send', 6],
  ['crm-send', 14],
  ['kill', 10],
  ['notifications', 5],
  ['storm', 4],
  ['expire-history', 2],
  ['revoke', 2],
];

export interface PlanOptions {
  readonly seed: number;
  readonly steps: number;
  readonly users: number;
  readonly contactsPerUser: number;
  /** How many kill targets there are (1 embedded process, 4 services distributed). */
  readonly killTargets: number;
  /** Step kinds or hostile variants left out (e.g. `kill`, `nul-subject`), to find which one causes a loss. */
  readonly without?: ReadonlySet<string>;
}

function excluded(step: Step, without: ReadonlySet<string>): boolean {
  return without.has(step.kind) || (step.kind === 'mail' && without.has(step.variant));
}

export function planSteps(o: PlanOptions): Step[] {
  const rnd = seededRandom(o.seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const total = WEIGHTS.reduce((a, [, w]) => a + w, 0);
  const steps: Step[] = [];
  const without = o.without ?? new Set<string>();
  for (let draws = 0; steps.length < o.steps && draws < o.steps * 50; draws++) {
    let r = rnd() * total;
    const [kind] = WEIGHTS.find(([, w]) => (r -= w) < 0) ?? WEIGHTS[0];
    const user = int(o.users);
    const contact = int(o.contactsPerUser);
    const from = rnd() < 0.65 ? 'contact' : 'stranger';
    switch (kind) {
      case 'mail':
        steps.push({ kind, user, from, contact, variant: 'plain' });
        break;
      case 'hostile':
        steps.push({ kind: 'mail', user, from, contact, variant: pick(HOSTILE_VARIANTS) });
        break;
      case 'reused-message-id':
        steps.push({ kind, user, from, contact });
        break;
      case 'owner-send':
      case 'crm-send':
        steps.push({ kind, user, contact });
        break;
      case 'kill':
        steps.push({ kind, target: int(o.killTargets), downMs: int(6_000) });
        break;
      case 'notifications':
        steps.push({
          kind,
          provider: pick(['google', 'microsoft'] as const),
          mode: pick(['drop', 'duplicate', 'delay', 'hold'] as const),
          forMs: 5_000 + int(15_000),
        });
        break;
      case 'storm':
        steps.push({ kind, user, status: pick([429, 500, 503] as const), count: 10 + int(31) });
        break;
      case 'expire-history':
        steps.push({ kind, user });
        break;
      case 'revoke':
        steps.push({ kind, user, reconsentAfterMs: 3_000 + int(10_000) });
        break;
    }
    if (excluded(steps[steps.length - 1], without)) steps.pop();
  }
  return steps;
}

/** Counts per step kind (and hostile variant), for the report. */
export function mixCounts(steps: readonly Step[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of steps) {
    const key =
      s.kind === 'mail'
        ? `mail:${s.from}${s.variant === 'plain' ? '' : `:${s.variant}`}`
        : s.kind === 'notifications'
          ? `notifications:${s.mode}`
          : s.kind === 'storm'
            ? `storm:${s.status}`
            : s.kind;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export interface RawMessageInput {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly messageId: string;
  readonly marker: string;
}

const CRLF = '\r\n';
const head = (m: RawMessageInput, extra: string[] = []) =>
  [
    `From: ${m.from}`,
    `To: ${m.to}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: ${m.messageId}`,
    'MIME-Version: 1.0',
    ...extra,
  ].join(CRLF);

/**
 * Hostile MIME as broken or malicious mailers send it. The subject always carries the marker in plain ASCII so the
 * message can be told apart in the report, except where the variant is the subject itself (NUL).
 */
export function hostileMime(variant: HostileVariant, m: RawMessageInput): string {
  switch (variant) {
    case 'nul-subject':
      // `hello\0` in an encoded word: PostgreSQL text/jsonb cannot hold U+0000.
      return `${head(m, [`Subject: =?UTF-8?B?aGVsbG8A?= ${m.marker}`, 'Content-Type: text/plain; charset=utf-8'])}${CRLF}${CRLF}nul ${m.marker}\u0000 body${CRLF}`;
    case 'invalid-charset':
      return `${head(m, [`Subject: =?x-no-such-charset?Q?caf=E9?= ${m.marker}`, 'Content-Type: text/plain; charset="x-no-such-charset"', 'Content-Transfer-Encoding: quoted-printable'])}${CRLF}${CRLF}caf=E9 =FF=FE ${m.marker}${CRLF}`;
    case 'no-separator':
      // Headers run straight into the body: no empty line.
      return `${head(m, [`Subject: ${m.subject}`, 'Content-Type: text/plain'])}${CRLF}this body has no blank line before it ${m.marker}${CRLF}`;
    case 'text-without-subtype':
      return `${head(m, [`Subject: ${m.subject}`, 'Content-Type: text'])}${CRLF}${CRLF}typed text only ${m.marker}${CRLF}`;
    case 'unnamed-parts': {
      const b = `b-${m.marker}`;
      return [
        head(m, [`Subject: ${m.subject}`, `Content-Type: multipart/mixed; boundary="${b}"`]),
        '',
        `--${b}`,
        'Content-Type: text/plain',
        '',
        `parts without names ${m.marker}`,
        `--${b}`,
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('unnamed bytes').toString('base64'),
        `--${b}`,
        'Content-Disposition: attachment',
        '',
        'an attachment with no name and no type',
        `--${b}--`,
        '',
      ].join(CRLF);
    }
    case 'thousand-parts': {
      const b = `k-${m.marker}`;
      const parts: string[] = [];
      for (let i = 0; i < 1_000; i++)
        parts.push(`--${b}`, 'Content-Type: text/plain', '', `part ${i} ${m.marker}`);
      return [
        head(m, [`Subject: ${m.subject}`, `Content-Type: multipart/mixed; boundary="${b}"`]),
        '',
        ...parts,
        `--${b}--`,
        '',
      ].join(CRLF);
    }
  }
}
