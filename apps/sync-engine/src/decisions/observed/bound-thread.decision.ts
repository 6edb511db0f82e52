import type { CanonicalMessage } from '@mailbridge/contracts';
import type { BindingView, ConnectionView, InactiveReason, ObservedDecisionInput } from '../decision.types';
import { LookupKey, lookupKeys, ownKeys, threadKey } from '../thread-keys';
import { DecisionBuilder, isLive } from './decision-builder';
import { findCounterpart } from './counterpart';
import { attachmentsFor } from './message-content';

/** SYN-2 / SYN-4 / CON-3 / CON-4: a thread that was ever bound is decided by its bindings only. */
const END_RULE: Record<InactiveReason, string> = {
  connection_disconnected: 'CON-4',
  connection_replaced: 'CON-3',
  rebound_elsewhere: 'SYN-4',
  contact_deleted: 'SYN-2',
};

const END_DETAIL: Record<InactiveReason, string> = {
  connection_disconnected:
    'the thread was synced through a connection that was disconnected; it does not sync again',
  connection_replaced:
    'the thread was synced through a mailbox that was replaced (update email); it no longer syncs',
  rebound_elsewhere: 'the user replied to this thread from another location; it syncs there only',
  contact_deleted: 'the contact of this thread was deleted in the CRM',
};

export function decideBoundThread(
  input: ObservedDecisionInput,
  b: DecisionBuilder,
  bindings: readonly BindingView[],
  connById: ReadonlyMap<string, ConnectionView>,
  clean: CanonicalMessage,
  notCounterpart: (normalized: string) => boolean,
): void {
  const { observed } = input;
  const m = observed.message;
  const active: BindingView[] = [];
  const ended = new Map<string, { binding: BindingView; reason: InactiveReason }>();
  // Found through its headers (its own Message-ID, In-Reply-To, References) it belongs to the thread; found only
  // through the provider thread id it may be older mail of that thread.
  const inThreadByHeaders = lookupKeys(m).some(
    (k) => k.matchedBy !== 'thread_id' && input.keyMatches.some((km) => km.key === k.key),
  );
  for (const binding of [...bindings].sort((x, y) => x.bindingId.localeCompare(y.bindingId))) {
    const reason = endReason(binding, connById);
    if (!reason) active.push(binding);
    else {
      const prev = ended.get(binding.locationId);
      // A location that lost its connection says so, rather than "bound elsewhere".
      if (!prev || (prev.reason !== 'connection_disconnected' && prev.reason !== 'connection_replaced'))
        ended.set(binding.locationId, { binding, reason });
    }
  }
  const ownThread = m.providerThreadId ? threadKey(m.providerThreadId) : null;
  for (const binding of active) {
    // SYN-2 syncs the *later* messages of a synced thread. Mail that reached the mailbox before the first synced message
    // of its provider thread, and does not reply into the thread (say a vendor's mail the user then forwarded to a
    // contact, ADR-4), stays private whatever order it is observed in (SYN-3). Mail that syncs on its own (SYN-3) syncs
    // anyway, as if observed first: its key moves the thread's firstAt back and the older mail kept aside is decided
    // again (SYN-6).
    const since = binding.originAt
      ? (input.keyMatches.find((k) => k.bindingId === binding.bindingId && k.key === ownThread)?.firstAt ??
        binding.originAt)
      : null;
    const earlier = !inThreadByHeaders && !!since && Date.parse(m.receivedAt) < Date.parse(since);
    if (earlier && !syncsOnItsOwn(input, binding, connById, notCounterpart)) {
      b.skip({
        locationId: binding.locationId,
        userId: binding.userId,
        contactId: binding.contactId,
        connectionId: binding.connectionId,
        reason: 'predates_synced_thread',
        rule: 'SYN-2',
        detail: `reached the mailbox before the first synced message of its thread (${since})`,
        publish: false,
      });
      continue;
    }
    const message = attachmentsFor(
      input,
      b,
      clean,
      binding.locationId,
      binding.userId,
      binding.contactId,
      binding.connectionId,
    );
    if (earlier) {
      // Refused for its attachments it would not have synced the thread either.
      if (!message) continue;
      b.step(
        'SYN-3',
        `older mail that syncs on its own in ${binding.locationId}: the thread syncs from it on`,
      );
    }
    // The message's own keys join the thread either way, so its replies still find it.
    b.addKeys(binding.bindingId, binding.mailboxKey, ownKeys(m));
    if (!message) continue;
    b.step('SYN-2', `${observed.direction} message of a synced thread in ${binding.locationId}: delivered`);
    b.deliver({
      locationId: binding.locationId,
      contactId: binding.contactId,
      conversationId: binding.conversationId,
      connectionId: binding.connectionId,
      userId: binding.userId,
      direction: observed.direction,
      source: 'mailbox',
      crmMessageId: null,
      rule: 'SYN-2',
      bindingId: binding.bindingId,
      message,
    });
  }
  const activeLocations = new Set(active.map((x) => x.locationId));
  for (const [locationId, { binding, reason }] of ended) {
    if (activeLocations.has(locationId)) continue;
    const rule = END_RULE[reason];
    b.skip({
      locationId,
      userId: binding.userId,
      contactId: binding.contactId,
      connectionId: binding.connectionId,
      reason: reason === 'rebound_elsewhere' ? 'thread_bound_elsewhere' : reason,
      rule,
      detail: END_DETAIL[reason],
      // A user's choice of another location is not news to this one, nor is mail of a contact it deleted.
      publish: reason === 'connection_disconnected' || reason === 'connection_replaced',
    });
  }
  // Older mail stays aside: an earlier message of the thread that syncs on its own may still be observed.
  b.parkWhen(
    b.delivered === 0 && b.skippedFor('predates_synced_thread') && !b.skippedFor('attachment_too_large'),
  );
}

/** SYN-3: whether the message, were its thread not bound, would start this binding's synced thread itself. */
function syncsOnItsOwn(
  input: ObservedDecisionInput,
  binding: BindingView,
  connById: ReadonlyMap<string, ConnectionView>,
  notCounterpart: (normalized: string) => boolean,
): boolean {
  const conn = connById.get(binding.connectionId);
  if (!conn || !isLive(conn) || conn.syncScope !== 'contact_mail') return false;
  const { observed } = input;
  const { assigned } = findCounterpart(input, conn, observed.direction, observed.message, notCounterpart);
  return assigned?.contactId === binding.contactId;
}

/** Why the binding does not deliver (also when its connection ended before it heard of it); null when it does. */
function endReason(
  binding: BindingView,
  connById: ReadonlyMap<string, ConnectionView>,
): InactiveReason | null {
  if (binding.status === 'ended') return binding.endReason ?? 'connection_disconnected';
  const status = connById.get(binding.connectionId)?.status;
  if (status === 'disconnected') return 'connection_disconnected';
  if (status === 'replaced') return 'connection_replaced';
  if (binding.contactDeleted) return 'contact_deleted';
  return null;
}

/**
 * Loss path 5: different messages may carry one Message-ID (a broken mailer's constant id), so a reply found only through
 * such a parent id (In-Reply-To, References) can name threads of several conversations. It goes to those whose contact
 * takes part in it (an address of the message), when some do; else to all of them, as any reply.
 */
export function narrowReusedParent(
  input: ObservedDecisionInput,
  found: { matchedBy: LookupKey['matchedBy']; bindings: BindingView[] },
): BindingView[] {
  if (found.matchedBy !== 'in_reply_to' && found.matchedBy !== 'references') return found.bindings;
  if (new Set(found.bindings.map((x) => x.conversationId)).size < 2) return found.bindings;
  const takingPart = found.bindings.filter((x) =>
    input.contacts.some((c) => c.locationId === x.locationId && c.contactId === x.contactId),
  );
  return takingPart.length > 0 ? takingPart : found.bindings;
}

/** The first lookup key (thread-keys.ts order) that found any binding decides which bindings the message belongs to. */
export function matchBindings(
  keys: readonly LookupKey[],
  keyMatches: ObservedDecisionInput['keyMatches'],
  bindings: readonly BindingView[],
): { key: string; matchedBy: LookupKey['matchedBy']; bindings: BindingView[] } | null {
  const byId = new Map(bindings.map((x) => [x.bindingId, x]));
  for (const { key, matchedBy } of keys) {
    const ids = new Set(keyMatches.filter((k) => k.key === key).map((k) => k.bindingId));
    const found = [...ids].map((id) => byId.get(id)).filter((x): x is BindingView => x !== undefined);
    if (found.length > 0) return { key, matchedBy, bindings: found };
  }
  return null;
}
