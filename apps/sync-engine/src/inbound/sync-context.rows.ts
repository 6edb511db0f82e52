// The rows the decision's look-ups answer, for one message (SyncContextRepository) or a whole batch
// (BatchContextRepository), and their mapping onto the decision's views: one copy, so both paths read the same.
import type { ContactView, CrmSendView, ObservedMessage } from '../decisions/decision.types';

export interface ContactRow {
  location_id: string;
  contact_id: string;
  email_normalized: string;
  assigned_user_id: string | null;
  created_at: string;
}

export interface CrmSendRow {
  send_id: string;
  location_id: string;
  user_id: string;
  contact_id: string;
  conversation_id: string;
  connection_id: string | null;
  mailbox_key: string | null;
  binding_id: string | null;
  rfc_message_id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The CRM send a message names in its Mailbridge reference, when that is a send id at all (SYN-5). */
export function sendRefOf(message: ObservedMessage['message']): string | null {
  return message.mailbridgeRef && UUID.test(message.mailbridgeRef) ? message.mailbridgeRef : null;
}

/** A timestamp as json_agg answers it, as the decision compares it (ISO, to the millisecond). */
export const isoTime = (t: string | Date | null): string | null => (t ? new Date(t).toISOString() : null);

export const toContactView = (c: ContactRow): ContactView => ({
  locationId: c.location_id,
  contactId: c.contact_id,
  emailNormalized: c.email_normalized,
  assignedUserId: c.assigned_user_id,
  createdAt: new Date(c.created_at).toISOString(),
});

export const toCrmSendView = (s: CrmSendRow): CrmSendView => ({
  sendId: s.send_id,
  locationId: s.location_id,
  userId: s.user_id,
  contactId: s.contact_id,
  conversationId: s.conversation_id,
  connectionId: s.connection_id,
  mailboxKey: s.mailbox_key,
  bindingId: s.binding_id,
  rfcMessageId: s.rfc_message_id,
});
