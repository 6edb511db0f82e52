import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { Topics } from '../topics';
import { bouncedRecipient } from './classification';
import { crmId, isoDateTime, mailboxAddress, rfcMessageId } from './common';

/**
 * SYN-9: what CRM automations act on (stop a sequence when the contact answers, flag an address that bounces),
 * produced by conversations once the message is recorded. Keyed by location + contact: one contact's signals stay in
 * order.
 */
export const contactRepliedV1 = defineEvent({
  type: 'contact.replied',
  version: 1,
  topic: Topics.conversationsActivity,
  description:
    "SYN-9: a contact replied, in person, to a thread the CRM sent in: a message classified `human`, inbound, that answers (In-Reply-To/References or the provider thread) a CRM send of the conversation. Never for an automatic reply, a bounce, bulk mail or the user's own message.",
  payload: z.object({
    locationId: crmId,
    contactId: crmId,
    conversationId: z.uuid(),
    /** The reply as the CRM lists it (`GET .../messages`). */
    messageId: z.uuid(),
    /** The CRM send it answers. */
    inReplyToMessageId: z.uuid(),
    userId: crmId.nullable(),
    connectionId: z.uuid().nullable(),
    from: mailboxAddress.nullable(),
    subject: z.string().max(4096),
    rfcMessageId: rfcMessageId.nullable(),
    /** Its Date header, else when the provider received it. */
    repliedAt: isoDateTime,
  }),
  key: (p) => `${p.locationId}:${p.contactId}`,
  locationId: (p) => p.locationId,
});

export const messageBouncedV1 = defineEvent({
  type: 'message.bounced',
  version: 1,
  topic: Topics.conversationsActivity,
  description:
    'SYN-9: a non-delivery report came back for an email the CRM sent: the send is now `bounced`, with the failed recipients, the status code and the diagnostic. Emitted once per send.',
  payload: z.object({
    locationId: crmId,
    contactId: crmId,
    conversationId: z.uuid(),
    /** The CRM send that bounced. */
    messageId: z.uuid(),
    /** The report as a message of the conversation, when it was recorded there. */
    bounceMessageId: z.uuid().nullable(),
    recipients: z.array(bouncedRecipient).max(50),
    status: z.string().max(16).nullable(),
    diagnostic: z.string().max(1000).nullable(),
    bouncedAt: isoDateTime,
  }),
  key: (p) => `${p.locationId}:${p.contactId}`,
  locationId: (p) => p.locationId,
});

export const activityEvents = [contactRepliedV1, messageBouncedV1] as const;
