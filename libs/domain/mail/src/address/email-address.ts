import { parseAddressHeader } from 'mailparser';
import { domainToUnicode } from 'node:url';

/** One mailbox from an address header. `name` is the decoded display name, when the header gave one. */
export interface MailAddress {
  name?: string;
  address: string;
}

/** The recipient header a recipient came from. */
export type RecipientField = 'to' | 'cc' | 'bcc';

export interface Recipient extends MailAddress {
  field: RecipientField;
}

/** Anything that names a mailbox: a bare address, a header-style `Name <addr>` string, or a parsed address. */
export type AddressInput = string | MailAddress;

const ADDR_SPEC = /^[^\s@]+@[^\s@]+$/;

/** True for a plain `local@domain` (no spaces, exactly one `@`, both sides non-empty). */
export function isAddrSpec(value: string): boolean {
  return ADDR_SPEC.test(value);
}

/**
 * Parses the value of an address header (`To`, `Cc`, `From`, ...) or several values of it.
 * Handles display names (quoted, RFC 2047 encoded), comments, groups (their members are listed in place,
 * the group name dropped) and internationalized domains (punycode is decoded to Unicode).
 * Entries without a usable `local@domain` address (`undisclosed-recipients:;`, a bare name) are dropped.
 */
export function parseAddressList(value: string | readonly string[] | null | undefined): MailAddress[] {
  if (value === null || value === undefined) return [];
  const parsed = parseAddressHeader(typeof value === 'string' ? value : [...value], { flatten: true });
  const out: MailAddress[] = [];
  for (const entry of parsed.value) {
    const address = (entry.address ?? '').trim();
    if (!ADDR_SPEC.test(address)) continue;
    const name = entry.name.trim();
    out.push(name ? { name, address } : { address });
  }
  return out;
}

/** The first mailbox of a header value (`From`, `Sender`), or undefined when there is none. */
export function parseAddress(value: string | null | undefined): MailAddress | undefined {
  return parseAddressList(value)[0];
}

/**
 * ADR-5: the form two addresses are compared in. Trims and lower-cases the whole address (local part
 * included) and writes an internationalized domain in its Unicode form, so `xn--` and Unicode spellings
 * of one domain compare equal. It deliberately does NOT fold Gmail dots or `+tags`: the CRM treats
 * `a.b@gmail.com`, `ab@gmail.com` and `ab+x@gmail.com` as different addresses.
 */
export function normalizeAddress(address: string): string {
  let value = address.trim();
  // A bracketed addr-spec (`<a@b>`) is still just the address.
  if (value.startsWith('<') && value.endsWith('>')) value = value.slice(1, -1).trim();
  const at = value.lastIndexOf('@');
  if (at > 0 && /(^|\.)xn--/i.test(value.slice(at + 1))) {
    const unicode = domainToUnicode(value.slice(at + 1));
    if (unicode) value = `${value.slice(0, at + 1)}${unicode}`;
  }
  return value.toLowerCase();
}

/** The bare address of an input: a `MailAddress`, a bare address or a `Name <addr>` string. */
export function addressOf(input: AddressInput): string {
  if (typeof input !== 'string') return input.address;
  const trimmed = input.trim();
  if (ADDR_SPEC.test(trimmed)) return trimmed;
  return parseAddress(trimmed)?.address ?? trimmed;
}

/** ADR-5: true when both name the same mailbox, ignoring case and display names (no dot/plus folding). */
export function sameAddress(a: AddressInput, b: AddressInput): boolean {
  return normalizeAddress(addressOf(a)) === normalizeAddress(addressOf(b));
}

/** True when `list` holds `address` (ADR-5 comparison). */
export function containsAddress(list: readonly AddressInput[], address: AddressInput): boolean {
  const wanted = normalizeAddress(addressOf(address));
  return list.some((entry) => normalizeAddress(addressOf(entry)) === wanted);
}

/** Removes repeated mailboxes (ADR-5 comparison), keeping the first occurrence and the original order. */
export function uniqueAddresses<T extends MailAddress>(list: readonly T[]): T[] {
  const seen = new Set<string>();
  return list.filter((entry) => {
    const key = normalizeAddress(entry.address);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * ADR-2: the recipients of a message in header order, To, then Cc, then Bcc, each mailbox once (its first
 * occurrence wins, so an address in both To and Cc counts as To).
 */
export function recipientsInHeaderOrder(message: {
  to?: readonly MailAddress[];
  cc?: readonly MailAddress[];
  bcc?: readonly MailAddress[];
}): Recipient[] {
  const all: Recipient[] = [
    ...(message.to ?? []).map((a) => ({ ...a, field: 'to' as const })),
    ...(message.cc ?? []).map((a) => ({ ...a, field: 'cc' as const })),
    ...(message.bcc ?? []).map((a) => ({ ...a, field: 'bcc' as const })),
  ];
  return uniqueAddresses(all);
}

/** ADR-2: the first recipient in header order that `matches` accepts (e.g. "is a contact of the location"). */
export function firstRecipientMatching(
  message: { to?: readonly MailAddress[]; cc?: readonly MailAddress[]; bcc?: readonly MailAddress[] },
  matches: (normalizedAddress: string, recipient: Recipient) => boolean,
): Recipient | undefined {
  return recipientsInHeaderOrder(message).find((r) => matches(normalizeAddress(r.address), r));
}
