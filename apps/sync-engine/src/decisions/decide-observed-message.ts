import { CanonicalMessage, MailboxAddress, conversationIdFor } from '@mailbridge/contracts';
import { isForward, normalizeAddress, recipientsInHeaderOrder } from '@mailbridge/domain-mail';
import { applyInboundAttachmentRules } from './attachments';
import type {
  InactiveReason,
  BindingKeyValue,
  BindingView,
  ConnectionView,
  ContactRequest,
  ContactView,
  Delivery,
  KeyAddition,
  NewBinding,
  ObservedDecision,
  ObservedDecisionInput,
  Skip,
} from './decision.types';
import { bccContactIdFor, bindingIdFor, deliveryIdFor } from './ids';
import { LookupKey, identityKey, lookupKeys, messageKey, ownKeys, parkKeys, threadKey } from './thread-keys';

/** A connection that still syncs: re-authentication pauses the provider, not the rules (CON-5). */
export const isLive = (c: Pick<ConnectionView, 'status'>): boolean =>
  c.status === 'active' || c.status === 'reauth_required';

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

/** Accumulates one decision; the decide functions only say what happens and why. */
class DecisionBuilder {
  readonly deliveries: Delivery[] = [];
  readonly skips: Skip[] = [];
  readonly newBindings: NewBinding[] = [];
  readonly keyAdditions: KeyAddition[] = [];
  readonly contactRequests: ContactRequest[] = [];
  readonly rules = new Set<string>();
  readonly trace: string[] = [];
  park = false;
  messageIdCollision = false;
  learnedSmartBcc: ObservedDecision['learnedSmartBcc'] = null;

  constructor(private readonly input: ObservedDecisionInput) {}

  step(rule: string, text: string): void {
    this.rules.add(rule);
    this.trace.push(`${rule}: ${text}`);
  }

  note(text: string): void {
    this.trace.push(text);
  }

  deliver(d: Omit<Delivery, 'deliveryId'> & { deliveryId?: string }): void {
    const m = this.input.observed.message;
    // SYN-5: a CRM email seen again (any mailbox) keeps the CRM message's id in its own conversation.
    const crm =
      d.crmMessageId ??
      this.input.crmSends.find(
        (s) => s.conversationId === d.conversationId && s.rfcMessageId === m.rfcMessageId,
      )?.sendId ??
      null;
    const deliveryId = d.deliveryId ?? deliveryIdFor(d.conversationId, m, crm);
    if (this.deliveries.some((x) => x.deliveryId === deliveryId && x.conversationId === d.conversationId))
      return;
    this.rules.add(d.rule);
    this.deliveries.push({ ...d, deliveryId, crmMessageId: crm });
  }

  skip(s: Skip): void {
    this.rules.add(s.rule);
    this.skips.push(s);
    this.trace.push(
      `${s.rule}: skipped${s.locationId ? ` in ${s.locationId}` : ''} (${s.reason}): ${s.detail}`,
    );
  }

  addKeys(bindingId: string, mailboxKey: string, keys: readonly BindingKeyValue[]): void {
    if (keys.length > 0) this.keyAdditions.push({ bindingId, mailboxKey, keys });
  }

  build(): ObservedDecision {
    return {
      outcome: this.deliveries.length > 0 ? 'delivered' : 'skipped',
      deliveries: this.deliveries,
      skips: this.skips,
      newBindings: this.newBindings,
      keyAdditions: this.keyAdditions,
      contactRequests: this.contactRequests,
      park: this.park,
      messageIdCollision: this.messageIdCollision,
      learnedSmartBcc: this.learnedSmartBcc,
      rules: [...this.rules].sort(),
      trace: this.trace,
    };
  }
}

/**
 * The sync rules for one observed message: a pure function of the message, the bindings its keys found, the
 * contacts its addresses match, the connections of its mailbox and the policy. Same input, same output (ids are
 * deterministic); no I/O. See docs/sync-rules-implementation.md for the order of the checks.
 */
export function decideObservedMessage(input: ObservedDecisionInput): ObservedDecision {
  const b = new DecisionBuilder(input);
  if (input.observed.source === 'smart_bcc') decideSmartBcc(input, b);
  else decideMailboxMessage(input, b);
  return b.build();
}

function decideMailboxMessage(input: ObservedDecisionInput, b: DecisionBuilder): void {
  const { observed } = input;
  const m = observed.message;
  const mailboxKey = observed.mailboxKey;
  const isSmartBcc = smartBccTest(input);
  const clean = cleanMessage(m, isSmartBcc);
  const connById = new Map(input.connections.map((c) => [c.connectionId, c]));

  // SYN-5: the Sent copy of an email the CRM sent through this mailbox is that email, not a new one.
  const send = input.crmSends.find(
    (s) =>
      s.mailboxKey === mailboxKey &&
      ((m.rfcMessageId !== null && s.rfcMessageId === m.rfcMessageId) || s.sendId === m.mailbridgeRef),
  );
  if (send && observed.direction === 'outbound') {
    b.step(
      'SYN-5',
      `the mailbox copy of CRM email ${send.sendId}; recorded as that email (same delivery id)`,
    );
    b.deliver({
      deliveryId: send.sendId,
      locationId: send.locationId,
      contactId: send.contactId,
      conversationId: send.conversationId,
      connectionId: send.connectionId,
      userId: send.userId,
      direction: 'outbound',
      source: 'crm',
      crmMessageId: send.sendId,
      rule: 'SYN-5',
      bindingId: send.bindingId,
      message: clean,
    });
    if (send.bindingId) b.addKeys(send.bindingId, mailboxKey, ownKeys(m));
    return;
  }

  // Loss path 5: its Message-ID is already a message of this mailbox's synced threads, but not this message. It is
  // kept apart (decided on its own keys), never routed into that message's conversation nor merged with it.
  const own = identityKey(m);
  if (input.messageIdTaken && own && !input.keyMatches.some((k) => k.key === own)) {
    b.messageIdCollision = true;
    b.note(
      `SYN-5: Message-ID ${m.rfcMessageId} is reused by another message (other sender, Date or subject): kept as its own message`,
    );
  }

  // A thread that was ever bound is decided by its bindings only (SYN-2, SYN-4, CON-3, CON-4).
  const bindings = input.bindings.filter((x) => x.mailboxKey === mailboxKey);
  const live = input.connections
    .filter((c) => c.mailboxKey === mailboxKey && isLive(c))
    .sort((x, y) => x.locationId.localeCompare(y.locationId) || x.connectionId.localeCompare(y.connectionId));
  const found = matchBindings(lookupKeys(m), input.keyMatches, bindings);
  if (found) {
    b.note(`thread found by ${found.matchedBy} (${found.key}): ${found.bindings.length} binding(s)`);
    const threads = narrowReusedParent(input, found);
    if (threads.length < found.bindings.length)
      b.note(
        `SYN-5: ${found.key} is carried by several messages; the threads of contacts taking part decide`,
      );
    decideBoundThread(input, b, threads, connById, clean, notCounterpartTest(input, live, isSmartBcc));
    return;
  }

  if (live.length === 0) {
    b.skip({
      locationId: null,
      userId: null,
      contactId: null,
      connectionId: null,
      reason: 'no_live_connection',
      rule: 'CON-4',
      detail: `no active connection watches ${mailboxKey}`,
      publish: false,
    });
    return;
  }

  // SYN-3 / SYN-4: not a synced thread; each connection of the mailbox looks for its user's contact.
  const notCounterpart = notCounterpartTest(input, live, isSmartBcc);
  const candidates: Array<{ conn: ConnectionView; contact: ContactView; message: CanonicalMessage }> = [];
  for (const conn of live) {
    const match = counterpartContact(input, conn, observed.direction, m, notCounterpart, b);
    if (!match) continue;
    if (conn.syncScope !== 'contact_mail') {
      b.skip({
        locationId: conn.locationId,
        userId: conn.userId,
        contactId: match.contactId,
        connectionId: conn.connectionId,
        reason: 'scope_crm_threads',
        rule: 'SYN-3',
        detail: 'the thread was started in the mailbox, and this connection syncs CRM threads only',
        publish: true,
      });
      continue;
    }
    const message = attachmentsFor(
      input,
      b,
      clean,
      conn.locationId,
      conn.userId,
      match.contactId,
      conn.connectionId,
    );
    if (message) candidates.push({ conn, contact: match, message });
  }

  const locations = new Set(candidates.map((c) => c.conn.locationId));
  const rule =
    locations.size > 1 ? 'SYN-4' : observed.direction === 'outbound' && isForward(m) ? 'ADR-4' : 'SYN-3';
  for (const { conn, contact, message } of candidates) {
    const conversationId = conversationIdFor(conn.locationId, contact.contactId);
    const bindingId = bindingIdFor(
      mailboxKey,
      conn.locationId,
      conversationId,
      `message:${m.providerMessageId}`,
    );
    b.step(
      rule,
      `${observed.direction} mail with contact ${contact.contactId} (assigned to ${conn.userId}) in ${conn.locationId}: delivered, thread bound`,
    );
    b.deliver({
      locationId: conn.locationId,
      contactId: contact.contactId,
      conversationId,
      connectionId: conn.connectionId,
      userId: conn.userId,
      direction: observed.direction,
      source: 'mailbox',
      crmMessageId: null,
      rule,
      bindingId,
      message,
    });
    if (!b.newBindings.some((x) => x.bindingId === bindingId)) {
      b.newBindings.push({
        bindingId,
        mailboxKey,
        locationId: conn.locationId,
        connectionId: conn.connectionId,
        userId: conn.userId,
        contactId: contact.contactId,
        conversationId,
        originRule: rule,
        originAt: m.receivedAt,
        keys: ownKeys(m),
      });
    }
  }
  // Kept for a second look when its thread or a message it replies to gets bound later (SYN-6: the binding message,
  // or an earlier one of the thread, may be observed after it).
  b.park =
    b.deliveries.length === 0 &&
    !b.skips.some((s) => s.reason === 'attachment_too_large') &&
    parkKeys(m).length > 0;
}

/** Addresses that are never the counterpart: the mailbox itself, the user's other connected addresses, smart-BCC. */
function notCounterpartTest(
  input: ObservedDecisionInput,
  live: readonly ConnectionView[],
  isSmartBcc: (normalized: string) => boolean,
): (normalized: string) => boolean {
  const owner = normalizeAddress(input.observed.mailboxAddress);
  return (a) => a === owner || isSmartBcc(a) || live.some((c) => c.emailNormalized === a);
}

function decideBoundThread(
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
  b.park =
    b.deliveries.length === 0 &&
    b.skips.some((s) => s.reason === 'predates_synced_thread') &&
    !b.skips.some((s) => s.reason === 'attachment_too_large');
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
function narrowReusedParent(
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

/**
 * ADR-1..ADR-3, ADR-5, SYN-3: the contact of this connection's location the message is about, if it may sync.
 * Inbound: the sender. Outbound: the first recipient in header order (To, Cc, Bcc) that is a contact assigned to the
 * user. An address belongs to the contact created first (ADR-3); matching is on the whole lower-cased address (ADR-5).
 */
function counterpartContact(
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
    if (sharedNote(input.contacts, assigned)) b.rules.add('ADR-3');
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
function findCounterpart(
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

function sharedNote(contacts: readonly ContactView[], chosen: ContactView): string {
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

/** ATT-1 / ATT-2 for one location: the message to record, or null when it is skipped (and the skip recorded). */
function attachmentsFor(
  input: ObservedDecisionInput,
  b: DecisionBuilder,
  message: CanonicalMessage,
  locationId: string,
  userId: string | null,
  contactId: string | null,
  connectionId: string | null,
): CanonicalMessage | null {
  const policy = input.policy.stripLocations.has(locationId) ? 'strip' : 'skip';
  const result = applyInboundAttachmentRules(
    message.attachments,
    message.provider,
    policy,
    input.policy.attachmentLimits,
  );
  if (result.outcome === 'skip') {
    b.skip({
      locationId,
      userId,
      contactId,
      connectionId,
      reason: 'attachment_too_large',
      rule: 'ATT-1',
      detail: result.detail,
      publish: true,
    });
    return null;
  }
  for (const a of result.attachments) {
    if (a.omittedReason === 'attachment_type_unsupported') b.rules.add('ATT-2');
    if (a.omittedReason === 'attachment_too_large') b.rules.add('ATT-1');
  }
  if (result.notes.length > 0)
    b.note(`ATT-1/ATT-2: left behind in ${locationId}: ${result.notes.join('; ')}`);
  return { ...message, attachments: result.attachments };
}

function smartBccTest(input: ObservedDecisionInput): (normalized: string) => boolean {
  const domains = input.policy.smartBccDomains.map((d) => d.toLowerCase());
  const own = input.observed.source === 'smart_bcc' ? normalizeAddress(input.observed.mailboxAddress) : null;
  return (a) => a === own || input.smartBccAddresses.has(a) || domains.some((d) => a.endsWith(`@${d}`));
}

/** BCC-1: the smart-BCC address is never shown as a recipient. */
function cleanMessage(m: CanonicalMessage, isSmartBcc: (normalized: string) => boolean): CanonicalMessage {
  const keep = (list: readonly MailboxAddress[]) =>
    list.filter((a) => !isSmartBcc(normalizeAddress(a.address)));
  return { ...m, to: keep(m.to), cc: keep(m.cc), bcc: keep(m.bcc) };
}

/**
 * BCC-1: a message the user sent from any client with their smart-BCC address in Cc/Bcc is recorded under its first
 * recipient contact (ADR-2, ADR-3), creating the contact when no recipient is one, and binds the thread in the user's
 * mailbox when they have an active connection for the sending address.
 */
function decideSmartBcc(input: ObservedDecisionInput, b: DecisionBuilder): void {
  const { observed } = input;
  const m = observed.message;
  const target = observed.smartBcc;
  if (!target) {
    b.skip({
      locationId: null,
      userId: null,
      contactId: null,
      connectionId: null,
      reason: 'no_recipient',
      rule: 'BCC-1',
      detail: 'a smart-BCC message without the location and user it was addressed to',
      publish: false,
    });
    return;
  }
  const { locationId, userId } = target;
  const bccAddress = normalizeAddress(observed.mailboxAddress);
  b.learnedSmartBcc = { address: bccAddress, locationId, userId };
  const isSmartBcc = smartBccTest(input);
  const userConns = input.connections.filter((c) => c.userId === userId);
  const userAddresses = new Set(userConns.map((c) => c.emailNormalized).filter((a): a is string => !!a));
  const from = m.from ? normalizeAddress(m.from.address) : null;
  const skip = (
    reason: 'sender_mismatch' | 'no_recipient',
    detail: string,
    contactId: string | null = null,
  ) =>
    b.skip({
      locationId,
      userId,
      contactId,
      connectionId: null,
      reason,
      rule: 'BCC-1',
      detail,
      publish: true,
    });

  // Only the user's own mail is recorded through their address (when their addresses are known at all).
  if (userAddresses.size > 0 && (!from || !userAddresses.has(from))) {
    skip('sender_mismatch', `${from ?? 'no sender'} is not an address of ${userId}`);
    return;
  }
  const recipients = recipientsInHeaderOrder(m).filter((r) => {
    const a = normalizeAddress(r.address);
    return !isSmartBcc(a) && !userAddresses.has(a) && a !== from;
  });
  if (recipients.length === 0) {
    skip('no_recipient', 'no recipient besides the user and the smart-BCC address');
    return;
  }

  let contactId: string | null = null;
  for (const r of recipients) {
    const c = owningContact(input.contacts, locationId, normalizeAddress(r.address));
    if (c) {
      contactId = c.contactId;
      b.step('ADR-2', `first recipient that is a contact: ${c.contactId}${sharedNote(input.contacts, c)}`);
      break;
    }
  }
  if (!contactId) {
    const first = recipients[0];
    contactId = bccContactIdFor(locationId, first.address);
    b.contactRequests.push({
      locationId,
      contactId,
      email: normalizeAddress(first.address),
      name: first.name?.trim() || null,
      assignedUserId: userId,
    });
    b.step(
      'BCC-1',
      `no recipient is a contact: contact ${contactId} requested for ${normalizeAddress(first.address)}`,
    );
  }

  const conn = userConns.find(
    (c) => c.locationId === locationId && c.status === 'active' && c.mailboxKey && c.emailNormalized === from,
  );
  const message = attachmentsFor(
    input,
    b,
    cleanMessage(m, isSmartBcc),
    locationId,
    userId,
    contactId,
    conn?.connectionId ?? null,
  );
  if (!message) return;
  const conversationId = conversationIdFor(locationId, contactId);

  let bindingId: string | null = null;
  const own = identityKey(m);
  if (conn?.mailboxKey && m.rfcMessageId && own) {
    // The Sent copy of this email in the user's mailbox finds the binding by the identity key (same email).
    const keys = [
      { key: messageKey(m.rfcMessageId), providerMessageId: null },
      { key: own, providerMessageId: null },
    ];
    const existing = input.bindings.find(
      (x) =>
        x.mailboxKey === conn.mailboxKey &&
        x.locationId === locationId &&
        x.conversationId === conversationId &&
        x.status === 'active' &&
        input.keyMatches.some((k) => k.bindingId === x.bindingId),
    );
    if (existing) {
      bindingId = existing.bindingId;
      b.addKeys(existing.bindingId, existing.mailboxKey, keys);
    } else {
      bindingId = bindingIdFor(conn.mailboxKey, locationId, conversationId, `smart-bcc:${m.rfcMessageId}`);
      b.newBindings.push({
        bindingId,
        mailboxKey: conn.mailboxKey,
        locationId,
        connectionId: conn.connectionId,
        userId,
        contactId,
        conversationId,
        originRule: 'BCC-1',
        keys,
      });
    }
    b.step('BCC-1', `thread bound in ${conn.mailboxKey} (active connection ${conn.connectionId})`);
  }
  b.step('BCC-1', `recorded under contact ${contactId} in ${locationId}`);
  b.deliver({
    locationId,
    contactId,
    conversationId,
    connectionId: conn?.connectionId ?? null,
    userId,
    direction: 'outbound',
    source: 'smart_bcc',
    crmMessageId: null,
    rule: 'BCC-1',
    bindingId,
    message,
  });
}
