import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { Topics } from '../topics';
import { attachmentRef, crmId, isoDateTime, mailboxAddress, providerName, rfcMessageId } from './common';

/** SND-1..3: individual mail from the CRM, bulk campaigns, workflow automation. */
export const emailKind = z.enum(['individual', 'bulk', 'workflow']);

/** The message the CRM asked to reply to, resolved by conversations (SND-5 threading). */
export const replyContext = z.object({
  messageId: z.uuid(),
  rfcMessageId: rfcMessageId.nullable(),
  references: z.array(rfcMessageId).max(200),
  provider: providerName.nullable(),
  providerThreadId: z.string().max(1024).nullable(),
  subject: z.string().max(4096),
});

const outgoingContent = {
  from: mailboxAddress.optional(),
  to: z.array(mailboxAddress).min(1).max(500),
  cc: z.array(mailboxAddress).max(500),
  bcc: z.array(mailboxAddress).max(500),
  subject: z.string().max(4096),
  text: z.string().max(2_000_000).nullable(),
  html: z.string().max(2_000_000).nullable(),
  attachments: z.array(attachmentRef).max(100),
};

export const emailRequestedV1 = defineEvent({
  type: 'email.requested',
  version: 1,
  topic: Topics.conversationsOutbound,
  description:
    'The CRM asked to send an email to a contact (stored as pending in the conversation). sync-engine routes it (SND-1..4) and emits a send command or a refusal.',
  payload: z.object({
    /** The CRM message id; it is also the send id through the whole flow. */
    messageId: z.uuid(),
    idempotencyKey: z.string().min(1).max(255),
    locationId: crmId,
    userId: crmId,
    contactId: crmId,
    conversationId: z.uuid(),
    kind: emailKind,
    ...outgoingContent,
    replyTo: replyContext.nullable(),
    requestedAt: isoDateTime,
  }),
  key: (p) => p.conversationId,
  locationId: (p) => p.locationId,
});

/** Where a send goes: the user's own mailbox, or the location's own sending service. */
export const sendRoute = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('mailbox'),
    connectionId: z.uuid(),
    provider: providerName,
    mailboxKey: z.string().min(3).max(400),
    fromAddress: z.string().max(320),
  }),
  z.object({ kind: z.literal('location_provider') }),
]);
export type SendRoute = z.infer<typeof sendRoute>;

const sendKey = (p: { route: SendRoute; locationId: string }) =>
  p.route.kind === 'mailbox' ? p.route.connectionId : `location:${p.locationId}`;

export const sendRequestedV1 = defineEvent({
  type: 'send.requested',
  version: 1,
  topic: Topics.mailSend,
  description:
    'Command to mail-gateway: send this email through this route. At most one email goes out per sendId (SND-6), whatever the redeliveries.',
  payload: z.object({
    sendId: z.uuid(),
    locationId: crmId,
    userId: crmId,
    contactId: crmId,
    conversationId: z.uuid(),
    kind: emailKind,
    route: sendRoute,
    ...outgoingContent,
    /** Generated once by sync-engine, so a retried send can be found in Sent by it before sending again. */
    rfcMessageId,
    inReplyTo: rfcMessageId.nullable(),
    references: z.array(rfcMessageId).max(200),
    /** Gmail threadId (SND-5) or the Graph message id to createReply on. */
    replyInProviderThreadId: z.string().max(1024).nullable(),
    replyToProviderMessageId: z.string().max(1024).nullable(),
    requestedAt: isoDateTime,
  }),
  key: sendKey,
  locationId: (p) => p.locationId,
});

export const sendSucceededV1 = defineEvent({
  type: 'send.succeeded',
  version: 1,
  topic: Topics.mailDelivery,
  description: 'mail-gateway sent the email. Carries the provider ids so the thread can be bound (SYN-1).',
  payload: z.object({
    sendId: z.uuid(),
    locationId: crmId,
    userId: crmId,
    contactId: crmId,
    conversationId: z.uuid(),
    route: sendRoute,
    provider: providerName.nullable(),
    providerMessageId: z.string().max(1024).nullable(),
    providerThreadId: z.string().max(1024).nullable(),
    rfcMessageId,
    sentAt: isoDateTime,
    /** The From the email went out with (SND-7 decides it at send time; it can differ from what the CRM first saw). */
    from: mailboxAddress.optional(),
  }),
  key: sendKey,
  locationId: (p) => p.locationId,
});

/** Why an email did not go out: the same shape whether mail-gateway failed it or sync-engine refused it. */
const sendFailure = z.object({
  sendId: z.uuid(),
  locationId: crmId,
  userId: crmId,
  contactId: crmId,
  conversationId: z.uuid(),
  route: sendRoute.nullable(),
  code: z.string().max(64),
  message: z.string().max(2000),
  failedAt: isoDateTime,
});
const failureKey = (p: z.infer<typeof sendFailure>) =>
  p.route?.kind === 'mailbox' ? p.route.connectionId : `location:${p.locationId}`;

export const sendFailedV1 = defineEvent({
  type: 'send.failed',
  version: 1,
  topic: Topics.mailDelivery,
  description:
    'mail-gateway did not send the email and will not retry. Codes include sending_cap_reached (SND-4), attachment_too_large, attachment_type_unsupported, no_active_connection, connection_ended (CON-4: the route names a connection that has ended), auth_revoked, provider_rejected.',
  payload: sendFailure,
  key: failureKey,
  locationId: (p) => p.locationId,
});

export const sendRefusedV1 = defineEvent({
  type: 'send.refused',
  version: 1,
  topic: Topics.syncSendRefusals,
  description:
    'sync-engine refused to route the email (SND-1..4, ATT-1/2, CON-4): nothing was sent. Same shape as send.failed; on its own topic so that each topic has one producer.',
  payload: sendFailure,
  key: failureKey,
  locationId: (p) => p.locationId,
});

export const sendingEvents = [
  emailRequestedV1,
  sendRequestedV1,
  sendSucceededV1,
  sendFailedV1,
  sendRefusedV1,
] as const;
