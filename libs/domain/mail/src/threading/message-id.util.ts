import { randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';

// msg-id = "<" id-left "@" id-right ">" (RFC 5322 §3.6.4), printable ASCII without brackets or spaces;
// lenient on the characters because real mailers put all sorts of things in there.
const MESSAGE_ID = /^<[^<>\s@]+@[^<>\s@]+>$/;
const BRACKETED = /<([^<>]*)>/g;

/**
 * Cleans one Message-ID: trims, removes folding whitespace inside, and adds the angle brackets when a
 * mailer left them out. Angle brackets are part of the stored and compared value (reference §F.1).
 * Returns undefined for anything that is not `<left@right>`.
 */
export function normalizeMessageId(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  let id = value.replace(/\s+/g, '');
  if (!id.startsWith('<')) id = `<${id}`;
  if (!id.endsWith('>')) id = `${id}>`;
  return MESSAGE_ID.test(id) ? id : undefined;
}

/**
 * All Message-IDs of a `References` / `In-Reply-To` / `Message-ID` value, in order, each once.
 * Tolerant of junk: text between ids (comments, quoted phrases, "In message <x> you wrote") is
 * ignored; ids folded over several lines are joined; a header with no `<...>` at all falls back to
 * bare `left@right` tokens, which some broken mailers send.
 */
export function parseMessageIds(value: string | readonly string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  const text = typeof value === 'string' ? value : value.join(' ');
  const found: string[] = [];
  // Unfold first so an id broken over two lines is one token.
  const unfolded = text.replace(/\r?\n[ \t]+/g, ' ');
  for (const match of unfolded.matchAll(BRACKETED)) {
    const id = normalizeMessageId(match[1]);
    if (id) found.push(id);
  }
  if (found.length === 0 && !unfolded.includes('<')) {
    for (const token of unfolded.split(/[\s,]+/)) {
      const id = token.includes('@') ? normalizeMessageId(token) : undefined;
      if (id) found.push(id);
    }
  }
  return [...new Set(found)];
}

/** The first Message-ID of a header value, or undefined. */
export function parseMessageId(value: string | null | undefined): string | undefined {
  return parseMessageIds(value)[0];
}

/** What a reply needs to know about the message it answers. */
export interface ThreadParent {
  messageId?: string;
  inReplyTo?: string;
  references?: readonly string[];
}

/** Default cap on `References` length; long chains keep the root and the most recent ids (reference §F.1). */
export const MAX_REFERENCES = 50;

/**
 * The `References` of a reply to `parent`, RFC 5322 §3.6.4: the parent's References followed by the
 * parent's Message-ID; when the parent has no References but a single In-Reply-To, that id followed by
 * the parent's Message-ID; empty when the parent has no Message-ID at all (the header is then omitted).
 * Chains longer than `max` keep the first id and the latest `max - 1`.
 */
export function buildReferences(parent: ThreadParent, max: number = MAX_REFERENCES): string[] {
  const messageId = normalizeMessageId(parent.messageId);
  const own = (parent.references ?? []).flatMap((r) => parseMessageIds(r));
  const inReplyTo = parseMessageIds(parent.inReplyTo ?? '');
  const chain = own.length > 0 ? own : inReplyTo.length === 1 ? inReplyTo : [];
  if (!messageId) return chain.length > 0 ? trimChain(dedupe(chain), max) : [];
  return trimChain(dedupe([...chain.filter((id) => id !== messageId), messageId]), max);
}

/** `In-Reply-To` and `References` for a reply to `parent` (both omitted when the parent has no Message-ID). */
export function buildReplyHeaders(
  parent: ThreadParent,
  max: number = MAX_REFERENCES,
): { inReplyTo?: string; references: string[] } {
  const messageId = normalizeMessageId(parent.messageId);
  if (!messageId) return { references: [] };
  return { inReplyTo: messageId, references: buildReferences(parent, max) };
}

/**
 * A new, globally unique Message-ID for a message we create, `<time.random@domain>`. 96 random bits make a
 * collision practically impossible; the domain should be the sender's (an IDN is written in ASCII form).
 */
export function generateMessageId(domain: string): string {
  const ascii = domainToASCII(domain.trim().replace(/^.*@/, '')).toLowerCase();
  if (!ascii || !/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(ascii)) {
    throw new Error(`Cannot build a Message-ID for the domain "${domain}"`);
  }
  return `<${Date.now().toString(36)}.${randomBytes(12).toString('hex')}@${ascii}>`;
}

function dedupe(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

function trimChain(ids: string[], max: number): string[] {
  if (max < 2 || ids.length <= max) return ids;
  return [ids[0], ...ids.slice(ids.length - (max - 1))];
}
