import { normalizeAddress } from '../address/email-address';

/**
 * SYN-8 (exclusions): mail with an excluded party is never synced nor stored. One list per location and one per
 * connection; a list holds addresses (whole address, case-insensitive, ADR-5) and domains (the domain and its
 * subdomains: `bank.example` also covers `mail.bank.example`), and the location's switch "mail between users of this
 * location" (every party is a user of the location: nobody from outside took part).
 *
 * A party is anyone in From, Sender, Reply-To, To, Cc or Bcc other than the mailbox owner: a message is private as
 * soon as one excluded party takes part (never-log lists of HubSpot, Salesforce, Pipedrive and Close work the same).
 */
export interface SyncExclusionList {
  readonly addresses: readonly string[];
  readonly domains: readonly string[];
  /** Location lists only: mail whose every party is a user of the location. */
  readonly betweenLocationUsers?: boolean;
}

/** Limits the CRM routes enforce (and the projection trusts). */
export const SYNC_EXCLUSION_LIMITS = { addresses: 1000, domains: 500 } as const;

export type SyncExclusionReason = 'address' | 'domain' | 'between_location_users';

export interface SyncExclusionVerdict {
  readonly rule: 'SYN-8';
  readonly reason: SyncExclusionReason;
  /** Which list: `location` or `connection`. */
  readonly scope: 'location' | 'connection';
  /** The excluded address or domain that matched (never logged with content; it is the CRM's own setting). */
  readonly matched: string | null;
}

export interface ExclusionInput {
  /** Every address of the message's From, Sender, Reply-To, To, Cc, Bcc. */
  readonly parties: readonly string[];
  readonly ownerAddress: string;
  /** Addresses of the location's users (their connected mailboxes), for the between-users switch. */
  readonly locationUserAddresses: readonly string[];
  readonly location: SyncExclusionList | null;
  readonly connection: SyncExclusionList | null;
}

/** A well-formed domain for a list: labels of letters, digits and hyphens, at least two labels, no trailing dot. */
export const EXCLUSION_DOMAIN_PATTERN =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

export function normalizeExclusionDomain(domain: string): string {
  return domain.trim().replace(/^@/, '').replace(/\.$/, '').toLowerCase();
}

const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1);

function matchList(
  parties: readonly string[],
  list: SyncExclusionList,
): { reason: SyncExclusionReason; matched: string } | null {
  const addresses = new Set(list.addresses.map(normalizeAddress));
  const domains = list.domains.map(normalizeExclusionDomain);
  for (const party of parties) {
    if (addresses.has(party)) return { reason: 'address', matched: party };
    const domain = domainOf(party);
    const hit = domains.find((d) => domain === d || domain.endsWith(`.${d}`));
    if (hit) return { reason: 'domain', matched: hit };
  }
  return null;
}

/** SYN-8: whether this message stays out of the CRM for this connection, and why; null when it may sync. */
export function decideSyncExclusion(input: ExclusionInput): SyncExclusionVerdict | null {
  const owner = normalizeAddress(input.ownerAddress);
  const parties = [...new Set(input.parties.map(normalizeAddress))].filter(
    (a) => a.includes('@') && a !== owner,
  );
  for (const [scope, list] of [
    ['location', input.location],
    ['connection', input.connection],
  ] as const) {
    if (!list) continue;
    const hit = matchList(parties, list);
    if (hit) return { rule: 'SYN-8', scope, ...hit };
  }
  if (input.location?.betweenLocationUsers) {
    const users = new Set([...input.locationUserAddresses, input.ownerAddress].map(normalizeAddress));
    // Only the owner (a note to self) or only colleagues: nobody from outside took part.
    if (parties.every((p) => users.has(p)))
      return { rule: 'SYN-8', scope: 'location', reason: 'between_location_users', matched: null };
  }
  return null;
}

const PARTY_HEADERS = new Set(['from', 'sender', 'reply-to', 'to', 'cc', 'bcc']);
const ADDRESS_IN_TEXT = /[^\s<>()[\],;:"]+@[^\s<>()[\],;:"]+/g;

/**
 * Every address in the top-level From, Sender, Reply-To, To, Cc and Bcc of a raw message's header block, lower case.
 * Deliberately generous (an address in a display name counts too): for privacy, a false match keeps mail out, a
 * missed one would let it in.
 */
export function messagePartiesFromHead(raw: string): string[] {
  const end = raw.search(/\r?\n\r?\n/);
  const block = (end === -1 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const out = new Set<string>();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || !PARTY_HEADERS.has(line.slice(0, colon).trim().toLowerCase())) continue;
    for (const m of line.slice(colon + 1).matchAll(ADDRESS_IN_TEXT))
      out.add(m[0].toLowerCase().replace(/\.$/, ''));
  }
  return [...out];
}
