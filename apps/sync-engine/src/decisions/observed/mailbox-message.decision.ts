import { CanonicalMessage, conversationIdFor } from '@mailbridge/contracts';
import { isForward } from '@mailbridge/domain-mail';
import type { ConnectionView, ContactView, ObservedDecisionInput } from '../decision.types';
import { bindingIdFor } from '../ids';
import { identityKey, lookupKeys, ownKeys, parkKeys } from '../thread-keys';
import { decideBoundThread, matchBindings, narrowReusedParent } from './bound-thread.decision';
import { counterpartContact, notCounterpartTest } from './counterpart';
import { DecisionBuilder, isLive } from './decision-builder';
import { attachmentsFor, cleanMessage, smartBccTest } from './message-content';

/** A message of a watched mailbox: its CRM send (SYN-5), its bound thread (SYN-2), or its contact (SYN-3, SYN-4). */
export function decideMailboxMessage(input: ObservedDecisionInput, b: DecisionBuilder): void {
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
    b.markMessageIdCollision();
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
    {
      b.bind({
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
  b.parkWhen(b.delivered === 0 && !b.skippedFor('attachment_too_large') && parkKeys(m).length > 0);
}
