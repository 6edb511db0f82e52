/** What the `q` search operators look at. */
export interface SearchableMessage {
  messageIdHeader?: string;
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  body: string;
  labelIds: ReadonlySet<string>;
  internalDate: number;
  hasAttachment: boolean;
  filenames: string[];
}

export type MessagePredicate = (m: SearchableMessage) => boolean;

/** Splits a query into terms, keeping quoted phrases (`subject:"quarterly report"`) together. */
export function tokenizeQuery(q: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  for (const c of q) {
    if (c === '"') {
      quoted = !quoted;
      continue;
    }
    if (/\s/.test(c) && !quoted) {
      if (current) tokens.push(current);
      current = '';
    } else current += c;
  }
  if (current) tokens.push(current);
  return tokens;
}

const IN_LABEL: Record<string, string> = {
  inbox: 'INBOX',
  sent: 'SENT',
  trash: 'TRASH',
  spam: 'SPAM',
  drafts: 'DRAFT',
  draft: 'DRAFT',
  starred: 'STARRED',
  important: 'IMPORTANT',
};

function parseDate(value: string): number | undefined {
  if (/^\d{9,}$/.test(value)) return Number(value) * 1000;
  const m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(value);
  // Gmail interprets dates at midnight PST; UTC is close enough for a sandbox.
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

function parseRelative(value: string): number | undefined {
  const m = /^(\d+)([dmy])$/.exec(value);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n * ({ d: 86_400_000, m: 30 * 86_400_000, y: 365 * 86_400_000 }[m[2] as 'd' | 'm' | 'y'] ?? 0);
}

const includes = (haystack: string, needle: string) => haystack.toLowerCase().includes(needle.toLowerCase());

function termPredicate(term: string, now: number): MessagePredicate {
  const colon = term.indexOf(':');
  const key = colon > 0 ? term.slice(0, colon).toLowerCase() : '';
  const value = colon > 0 ? term.slice(colon + 1) : term;
  switch (key) {
    case 'rfc822msgid': {
      const wanted = value.replace(/^<|>$/g, '').toLowerCase();
      return (m) => (m.messageIdHeader ?? '').replace(/^<|>$/g, '').toLowerCase() === wanted;
    }
    case 'from':
      return (m) => includes(m.from, value);
    case 'to':
      return (m) => includes(m.to, value) || includes(m.cc, value) || includes(m.bcc, value);
    case 'cc':
      return (m) => includes(m.cc, value);
    case 'bcc':
      return (m) => includes(m.bcc, value);
    case 'subject':
      return (m) => includes(m.subject, value);
    case 'in': {
      if (value.toLowerCase() === 'anywhere') return () => true;
      const label = IN_LABEL[value.toLowerCase()] ?? value.toUpperCase();
      return (m) => m.labelIds.has(label);
    }
    case 'label': {
      const label = IN_LABEL[value.toLowerCase()] ?? value;
      return (m) => m.labelIds.has(label) || m.labelIds.has(label.toUpperCase());
    }
    case 'is': {
      const v = value.toLowerCase();
      if (v === 'unread') return (m) => m.labelIds.has('UNREAD');
      if (v === 'read') return (m) => !m.labelIds.has('UNREAD');
      return (m) => m.labelIds.has(v.toUpperCase());
    }
    case 'has':
      return value.toLowerCase() === 'attachment' ? (m) => m.hasAttachment : () => false;
    case 'filename':
      return (m) => m.filenames.some((f) => includes(f, value));
    case 'after':
    case 'newer': {
      const t = parseDate(value);
      return (m) => t !== undefined && m.internalDate >= t;
    }
    case 'before':
    case 'older': {
      const t = parseDate(value);
      return (m) => t !== undefined && m.internalDate < t;
    }
    case 'newer_than': {
      const d = parseRelative(value);
      return (m) => d !== undefined && m.internalDate >= now - d;
    }
    case 'older_than': {
      const d = parseRelative(value);
      return (m) => d !== undefined && m.internalDate < now - d;
    }
    default:
      return (m) => [m.subject, m.body, m.from, m.to, m.cc].some((f) => includes(f, term));
  }
}

/**
 * Compiles the subset of Gmail search the emulator supports: `rfc822msgid:`, `from:`, `to:`, `cc:`, `bcc:`,
 * `subject:`, `in:`, `label:`, `is:`, `has:attachment`, `filename:`, `after:`/`before:`, `newer_than:`/`older_than:`,
 * `-term` negation and free words. Terms are ANDed; `OR` and braces are not supported.
 */
export function compileGmailQuery(q: string | undefined, now: number): MessagePredicate {
  const predicates = tokenizeQuery(q ?? '').map((term) => {
    if (term.startsWith('-') && term.length > 1) {
      const inner = termPredicate(term.slice(1), now);
      return (m: SearchableMessage) => !inner(m);
    }
    return termPredicate(term, now);
  });
  return (m) => predicates.every((p) => p(m));
}

/** Whether a query restricts the search to spam or trash itself (otherwise those are excluded by default). */
export function queryMentionsSpamOrTrash(q: string | undefined): boolean {
  return /\bin:(spam|trash|anywhere)\b/i.test(q ?? '');
}
