import { createHash } from 'node:crypto';
import { type EmailIdentityParts, emailFingerprint, normalizeAddress } from '@mailbridge/domain-mail';

/**
 * A UUID (v5 layout: SHA-1 of a fixed namespace + the parts) so that a redelivered or re-decided input produces the
 * same id: the decision function stays a pure function of its input, and consumers collapse repeats by id.
 */
export function deterministicUuid(namespace: string, ...parts: readonly string[]): string {
  const hash = createHash('sha1')
    .update(`mailbridge:${namespace}:${parts.join('\u0000')}`)
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A message as its delivery id needs it. */
export type IdentifiedMessage = EmailIdentityParts & { provider: string; providerMessageId: string };

/**
 * SYN-5: what identifies "the same message" inside one conversation. The RFC Message-ID together with the sender,
 * Date and subject when there is one (so the copies of one email seen in two mailboxes, or by push and by poll, are
 * one entry, while another message reusing the Message-ID is another entry: loss path 5), else the provider's id.
 */
export function messageIdentity(message: IdentifiedMessage): string {
  return message.rfcMessageId
    ? `rfc:${message.rfcMessageId}#${emailFingerprint(message)}`
    : `${message.provider}:${message.providerMessageId}`;
}

/**
 * SYN-5: the delivery id of a message in a conversation. The mailbox copy of an email the CRM sent takes the CRM
 * message id, so conversations sees it as the message it already has, not a second one.
 */
export function deliveryIdFor(
  conversationId: string,
  message: IdentifiedMessage,
  crmMessageId: string | null = null,
): string {
  return crmMessageId ?? deterministicUuid('delivery', conversationId, messageIdentity(message));
}

/** A new thread binding's id: deterministic from what created it, so the same decision twice is the same binding. */
export function bindingIdFor(
  mailboxKey: string,
  locationId: string,
  conversationId: string,
  origin: string,
): string {
  return deterministicUuid('binding', mailboxKey, locationId, conversationId, origin);
}

/** BCC-1: the contact id asked for a new address, from (location, lower-cased address), so retries converge. */
export function bccContactIdFor(locationId: string, address: string): string {
  return `bcc-${createHash('sha256')
    .update(`${locationId}\u0000${normalizeAddress(address)}`)
    .digest('hex')
    .slice(0, 32)}`;
}

/**
 * The RFC Message-ID of a CRM email, generated once per CRM message (a retried send reuses it, so mail-gateway can
 * find an earlier attempt in Sent, and the Sent copy is recognised, SYN-5).
 */
export function rfcMessageIdFor(
  crmMessageId: string,
  fromAddress: string | null,
  fallbackDomain: string,
): string {
  const domain = fromAddress?.includes('@') ? fromAddress.slice(fromAddress.lastIndexOf('@') + 1) : '';
  const safe = /^[A-Za-z0-9.-]+$/.test(domain) ? domain.toLowerCase() : fallbackDomain;
  return `<mb.${crmMessageId}@${safe}>`;
}
