import { createHash } from 'node:crypto';
import { normalizeAddress } from '../address/email-address';

/** What the copies of one email agree on wherever they are read (Gmail, Graph, a smart-BCC inbox). */
export interface EmailIdentityParts {
  readonly rfcMessageId: string | null;
  readonly from: { readonly address: string } | null;
  /** The Date header (ISO string or Date); compared at whole seconds (Graph has no milliseconds). */
  readonly sentAt: string | Date | null;
  readonly subject: string | null;
}

/**
 * A Message-ID is not proof of identity: broken mailers send one constant id, re-sent mail keeps the original one
 * (loss path 5, issue 14). Two messages carrying the same Message-ID are the same email only when they also agree on
 * the sender, the Date header (whole seconds) and the subject. The body is left out on purpose: providers render it
 * differently (Graph gives HTML where MIME has text), so a body difference would split real copies into duplicates.
 * Subjects are compared as they can be stored: control characters and lone surrogates dropped, whitespace collapsed.
 */
export function emailFingerprint(m: Omit<EmailIdentityParts, 'rfcMessageId'>): string {
  const from = m.from ? normalizeAddress(m.from.address) : '';
  const sent = m.sentAt === null ? '' : wholeSecond(m.sentAt);
  return createHash('sha256')
    .update([from, sent, storableSubject(m.subject)].join('\u0000'))
    .digest('hex')
    .slice(0, 32);
}

/** True when two messages are provably the same email: same Message-ID and the same fingerprint. */
export function sameEmail(a: EmailIdentityParts, b: EmailIdentityParts): boolean {
  const idA = a.rfcMessageId?.trim();
  return !!idA && idA === b.rfcMessageId?.trim() && emailFingerprint(a) === emailFingerprint(b);
}

function wholeSecond(value: string | Date): string {
  const ms = (value instanceof Date ? value : new Date(value)).getTime();
  return Number.isNaN(ms) ? String(value) : new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

function storableSubject(subject: string | null): string {
  let out = '';
  // for…of walks code points: a paired surrogate is one character, a lone one stands alone and is dropped.
  for (const ch of subject ?? '') {
    const c = ch.codePointAt(0) ?? 0;
    const control = (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f;
    if (!control && !(c >= 0xd800 && c <= 0xdfff)) out += ch;
  }
  return out.replace(/\s+/g, ' ').trim();
}
