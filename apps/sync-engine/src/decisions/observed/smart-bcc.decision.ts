import { conversationIdFor } from '@mailbridge/contracts';
import { normalizeAddress, recipientsInHeaderOrder } from '@mailbridge/domain-mail';
import type { ObservedDecisionInput } from '../decision.types';
import { bccContactIdFor, bindingIdFor } from '../ids';
import { identityKey, messageKey } from '../thread-keys';
import type { DecisionBuilder } from './decision-builder';
import { owningContact, sharedNote } from './counterpart';
import { attachmentsFor, cleanMessage, smartBccTest } from './message-content';

/**
 * BCC-1: a message the user sent from any client with their smart-BCC address in Cc/Bcc is recorded under its first
 * recipient contact (ADR-2, ADR-3), creating the contact when no recipient is one, and binds the thread in the user's
 * mailbox when they have an active connection for the sending address.
 */
export function decideSmartBcc(input: ObservedDecisionInput, b: DecisionBuilder): void {
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
  b.learnSmartBcc({ address: bccAddress, locationId, userId });
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
    b.requestContact({
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
      b.bind({
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
