import type { CanonicalMessage } from '@mailbridge/contracts';
import { normalizeAddress, recipientsInHeaderOrder } from '@mailbridge/domain-mail';
import type { ConnectionView, ContactView, ObservedDecisionInput } from '../decision.types';
import type { DecisionBuilder } from './decision-builder';

/** Addresses that are never the counterpart: the mailbox itself, the user's other connected addresses, smart-BCC. */
export function notCounterpartTest(
  input: ObservedDecisionInput,
  live: readonly ConnectionView[],
  isSmartBcc: (normalized: string) => boolean,
): (normalized: string) => boolean {
  const owner = normalizeAddress(input.observed.mailboxAddress);
  return (a) => a === owner || isSmartBcc(a) || live.some((c) => c.emailNormalized === a);
}

/**
 * ADR-1..ADR-3, ADR-5, SYN-3: the contact of this connection's location the message is about, if it may sync.
 * Inbound: the sender. Outbound: the first recipient in header order (To, Cc, Bcc) that is a contact assigned to the
 * user. An address belongs to the contact created first (ADR-3); matching is on the whole lower-cased address (ADR-5).
 */
export function counterpartContact(
  input: ObservedDecisionInput,
  conn: ConnectionView,
  direction: 'inbound' | 'outbound',
  m: CanonicalMessage,
  excluded: (normalized: string) => boolean,
  b: DecisionBuilder,
): ContactView | null {
  const { assigned, other } = findCounterpart(input, conn, direction, m, excluded);
  if (assigned) {
    b.step(
      direction === 'inbound' ? 'ADR-1' : 'ADR-2',
      `${assigned.emailNormalized} is contact ${assigned.contactId} of ${conn.locationId}${sharedNote(input.contacts, assigned)}`,
    );
    if (sharedNote(input.contacts, assigned)) b.applied('ADR-3');
    return assigned;
  }
  b.skip({
    locationId: conn.locationId,
    userId: conn.userId,
    contactId: other?.contactId ?? null,
    connectionId: conn.connectionId,
    reason: other ? 'contact_not_assigned' : 'no_matching_contact',
    rule: 'SYN-3',
    detail: other
      ? `contact ${other.contactId} is not assigned to ${conn.userId}`
      : `no ${direction === 'inbound' ? 'sender' : 'recipient'} is a contact of ${conn.locationId}`,
    // Mail with no contact is the user's private mail: recorded, never sent to the CRM.
    publish: other !== undefined,
  });
  return null;
}

/** The counterpart contacts of the message in the connection's location: the one assigned to its user, if any. */
export function findCounterpart(
  input: ObservedDecisionInput,
  conn: ConnectionView,
  direction: 'inbound' | 'outbound',
  m: CanonicalMessage,
  excluded: (normalized: string) => boolean,
): { assigned: ContactView | undefined; other: ContactView | undefined } {
  const addresses =
    direction === 'inbound'
      ? m.from
        ? [normalizeAddress(m.from.address)]
        : []
      : recipientsInHeaderOrder(m).map((r) => normalizeAddress(r.address));
  const owners = addresses
    .filter((a) => !excluded(a))
    .map((a) => owningContact(input.contacts, conn.locationId, a))
    .filter((c): c is ContactView => c !== null);
  return { assigned: owners.find((c) => c.assignedUserId === conn.userId), other: owners[0] };
}

export function sharedNote(contacts: readonly ContactView[], chosen: ContactView): string {
  const n = contacts.filter(
    (c) => c.locationId === chosen.locationId && c.emailNormalized === chosen.emailNormalized,
  ).length;
  return n > 1 ? ` (the first created of ${n} contacts sharing the address, ADR-3)` : '';
}

/** ADR-3: the contact an address belongs to in a location: the one created first (id breaks a tie). */
export function owningContact(
  contacts: readonly ContactView[],
  locationId: string,
  normalizedAddress: string,
): ContactView | null {
  let best: ContactView | null = null;
  for (const c of contacts) {
    if (c.locationId !== locationId || c.emailNormalized !== normalizedAddress) continue;
    if (
      !best ||
      c.createdAt < best.createdAt ||
      (c.createdAt === best.createdAt && c.contactId < best.contactId)
    )
      best = c;
  }
  return best;
}
