// Reply and forward prefixes as mail clients write them in various languages (Outlook localizes them).
// "VS" means forward in Danish/Norwegian but reply in Finnish, so it strips as a prefix but never
// counts as a forward on its own.
const REPLY_PREFIXES = [
  're',
  'aw',
  'sv',
  'antw',
  'odp',
  'res',
  'r',
  'rif',
  'ynt',
  'vá',
  'απ',
  'σχετ',
  'השב',
  '回复',
  '回覆',
  '答复',
  '答覆',
];
const FORWARD_PREFIXES = [
  'fwd',
  'fw',
  'wg',
  'tr',
  'rv',
  'enc',
  'vb',
  'vl',
  'pd',
  'doorst',
  'İlt',
  'ilt',
  'tov',
  'fs',
  'πρθ',
  'הועבר',
  '转发',
  '轉寄',
  '转寄',
  '轉發',
];
const AMBIGUOUS_PREFIXES = ['vs'];

function prefixPattern(words: readonly string[]): RegExp {
  // Longest first so "fwd" wins over "fw"; an optional counter ("Re[2]:", "RE(3):"), ASCII or full-width colon.
  const alternatives = [...words].sort((a, b) => b.length - a.length).join('|');
  return new RegExp(`^\\s*(?:${alternatives})\\s*(?:\\[\\d+\\]|\\(\\d+\\))?\\s*[:\\uFF1A]\\s*`, 'iu');
}

const ANY_PREFIX = prefixPattern([...REPLY_PREFIXES, ...FORWARD_PREFIXES, ...AMBIGUOUS_PREFIXES]);
const FORWARD_PREFIX = prefixPattern(FORWARD_PREFIXES);
const REPLY_PREFIX = prefixPattern(REPLY_PREFIXES);

/**
 * The subject without reply/forward prefixes (stripped repeatedly: "RE: Fwd: AW: x" → "x") and with runs of
 * whitespace collapsed. Case is kept; compare with {@link subjectsMatch}.
 */
export function normalizeSubject(subject: string | null | undefined): string {
  let value = (subject ?? '').replace(/\s+/g, ' ').trim();
  for (;;) {
    const next = value.replace(ANY_PREFIX, '');
    if (next === value) return value;
    value = next.trim();
  }
}

/** True when two subjects belong to one thread by subject (prefixes, whitespace and case ignored). */
export function subjectsMatch(a: string | null | undefined, b: string | null | undefined): boolean {
  return normalizeSubject(a).toLowerCase() === normalizeSubject(b).toLowerCase();
}

/** The subject of a reply: the parent's subject with one `Re: ` in front, never stacked (reference §F.1). */
export function replySubject(parentSubject: string | null | undefined): string {
  const value = (parentSubject ?? '').trim();
  if (REPLY_PREFIX.test(value)) return value;
  return value ? `Re: ${value}` : 'Re:';
}

/** ADR-4: true when the outermost prefix of the subject is a forward prefix ("Fwd:", "FW:", "WG:", ...). */
export function hasForwardPrefix(subject: string | null | undefined): boolean {
  return FORWARD_PREFIX.test(subject ?? '');
}
