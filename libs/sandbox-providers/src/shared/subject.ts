/** Reply/forward prefixes mail clients add in various languages (Re, Fwd, Fw, AW, WG, SV, VS, Antw, RV, TR, Réf). */
const PREFIX =
  /^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|rv|tr|réf|ref|odp|enc)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+/i;

/** Subject as threading compares it: prefixes and `[tags]`-free whitespace-collapsed lower case. */
export function normalizeSubject(subject: string | undefined): string {
  let s = (subject ?? '').replace(/\s+/g, ' ').trim();
  for (;;) {
    const next = s.replace(PREFIX, '').trim();
    if (next === s) break;
    s = next;
  }
  return s.toLowerCase();
}

/** `Re: <subject>` without stacking prefixes. */
export function replySubject(subject: string | undefined, prefix = 'Re:'): string {
  const s = (subject ?? '').trim();
  return /^\s*re\s*:/i.test(s) ? s : `${prefix} ${s}`.trim();
}

export function forwardSubject(subject: string | undefined, prefix = 'Fwd:'): string {
  const s = (subject ?? '').trim();
  return /^\s*(fwd?|fw)\s*:/i.test(s) ? s : `${prefix} ${s}`.trim();
}
