import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { bounceReport, messageClassification } from './classification';
import { Topics } from '../topics';
import {
  attachmentRef,
  crmId,
  emailAddress,
  isoDateTime,
  mailboxAddress,
  objectKey,
  providerName,
  rfcMessageId,
} from './common';

/** Text and HTML bodies travel inline up to this many characters each; the whole raw message is in the object store. */
export const MAX_INLINE_BODY_CHARS = 256 * 1024;

/** A message as mail-gateway read it from a mailbox, provider-neutral. */
export const canonicalMessage = z.object({
  provider: providerName,
  providerMessageId: z.string().min(1).max(1024),
  providerThreadId: z.string().min(1).max(1024).nullable(),
  rfcMessageId: rfcMessageId.nullable(),
  inReplyTo: rfcMessageId.nullable(),
  /** Oldest first, as in the header. */
  references: z.array(rfcMessageId).max(200),
  from: mailboxAddress.nullable(),
  sender: mailboxAddress.nullable().optional(),
  replyTo: z.array(mailboxAddress).max(100).optional(),
  to: z.array(mailboxAddress).max(1000),
  cc: z.array(mailboxAddress).max(1000),
  /** Only known for messages the mailbox owner sent (their Sent copy keeps Bcc). */
  bcc: z.array(mailboxAddress).max(1000),
  subject: z.string().max(4096),
  text: z.string().max(MAX_INLINE_BODY_CHARS).nullable(),
  html: z.string().max(MAX_INLINE_BODY_CHARS).nullable(),
  bodyTruncated: z.boolean(),
  /** The Date header (when the author sent it); SYN-6 orders by it. */
  sentAt: isoDateTime.nullable(),
  /** When the provider accepted it (Gmail internalDate / Graph receivedDateTime). */
  receivedAt: isoDateTime,
  attachments: z.array(attachmentRef).max(500),
  /** The whole RFC 822 message, when stored. */
  rawObjectKey: objectKey.optional(),
  /** Our own `X-Mailbridge-Ref` header, present on mail sent through the platform (SYN-5 recognises the Sent copy). */
  mailbridgeRef: z.string().max(200).optional(),
  /** SYN-9: who wrote it, decided by mail-gateway from the raw message (absent from producers before SYN-9). */
  classification: messageClassification.optional(),
  /** SYN-9: what a `bounce` says (failed recipients, status, diagnostic, the Message-ID it answers). */
  bounce: bounceReport.optional(),
});
export type CanonicalMessage = z.infer<typeof canonicalMessage>;

export const messageObservedV1 = defineEvent({
  type: 'message.observed',
  version: 1,
  topic: Topics.mailObserved,
  description:
    'A message appeared in a watched mailbox (Inbox or Sent), or reached a smart-BCC address. Emitted once per message per mailbox, before the sync cursor moves past it; consumers still deduplicate (at least once).',
  payload: z.object({
    mailboxId: z.uuid(),
    /** `<provider>:<lower-cased address>`, as in connection events. */
    mailboxKey: z.string().min(3).max(400),
    mailboxAddress: emailAddress,
    source: z.enum(['mailbox', 'smart_bcc']),
    /** Relative to the mailbox owner: `outbound` when the owner sent it. */
    direction: z.enum(['inbound', 'outbound']),
    /** In the Sent folder / has the SENT label. */
    inSent: z.boolean(),
    labels: z.array(z.string().max(256)).max(100),
    /** For smart-BCC mail: whose address received it. */
    smartBcc: z.object({ locationId: crmId, userId: crmId }).optional(),
    message: canonicalMessage,
    observedAt: isoDateTime,
  }),
  key: (p) => p.mailboxId,
});

const mailboxConnections = z
  .array(z.object({ connectionId: z.uuid(), locationId: crmId, userId: crmId }))
  .max(1000);

export const mailboxSyncHealthChangedV1 = defineEvent({
  type: 'mailbox.sync-health-changed',
  version: 1,
  topic: Topics.mailMailboxes,
  description:
    'How a mailbox is syncing (CON-2: last synced, last error), so "connected but silently not syncing" is visible.',
  payload: z.object({
    mailboxId: z.uuid(),
    mailboxKey: z.string().min(3).max(400),
    connections: mailboxConnections,
    stage: z.enum(['watching', 'catching_up', 'throttled', 'paused_auth', 'error', 'stopped']),
    lastSyncedAt: isoDateTime.nullable(),
    lastNotificationAt: isoDateTime.nullable(),
    lastError: z
      .object({ code: z.string().max(64), message: z.string().max(1000), at: isoDateTime })
      .nullable(),
    /**
     * CON-7: the watch (Gmail) / subscriptions (Graph): when the current one expires and how many renewals failed in
     * a row. Optional: producers before it did not send it.
     */
    watch: z
      .object({ expiresAt: isoDateTime.nullable(), renewalFailures: z.number().int().min(0).max(1_000_000) })
      .optional(),
  }),
  key: (p) => p.mailboxId,
});

export const mailboxSyncGapV1 = defineEvent({
  type: 'mailbox.sync-gap',
  version: 1,
  topic: Topics.mailMailboxes,
  description:
    'Messages in this time range may not have synced (the provider no longer had history that far back, CON-5). Shown to the CRM; never a silent jump.',
  payload: z.object({
    mailboxId: z.uuid(),
    mailboxKey: z.string().min(3).max(400),
    connections: mailboxConnections,
    from: isoDateTime,
    to: isoDateTime,
    reason: z.string().max(200),
  }),
  key: (p) => p.mailboxId,
});

export const mailboxMessageQuarantinedV1 = defineEvent({
  type: 'mailbox.message-quarantined',
  version: 1,
  topic: Topics.mailMailboxes,
  description:
    'A message of this mailbox could not be fetched, parsed or recorded after several attempts (SYN-10): it is set aside with its stage and error class so the rest of the mailbox syncs, shown to the CRM, and can be retried by an operator.',
  payload: z.object({
    mailboxId: z.uuid(),
    mailboxKey: z.string().min(3).max(400),
    connections: mailboxConnections,
    /** The quarantine record (mail-gateway `GET /internal/quarantine/messages`). */
    quarantineId: z.uuid(),
    providerMessageId: z.string().min(1).max(1024),
    /** Where it failed, e.g. `gateway.pull`. */
    stage: z.string().min(1).max(64),
    /** The kind of error (its class name or provider error code), never the message content. */
    errorClass: z.string().min(1).max(200),
    error: z.string().max(1000),
    attempts: z.number().int().min(1),
    quarantinedAt: isoDateTime,
  }),
  key: (p) => p.mailboxId,
});

export const mailboxAuditedV1 = defineEvent({
  type: 'mailbox.audited',
  version: 1,
  topic: Topics.mailMailboxes,
  description:
    "The completeness audit of a mailbox (SYN-10): the provider's messages in the window compared with the ledger of outcomes; ids without an outcome re-driven through the pipeline (`healed`). conversations records an audit that found a gap as a sync event; identity-connections keeps the latest report for the CRM.",
  payload: z.object({
    mailboxId: z.uuid(),
    mailboxKey: z.string().min(3).max(400),
    connections: mailboxConnections,
    window: z.object({ from: isoDateTime, to: isoDateTime }),
    checkedAt: isoDateTime,
    providerMessages: z.number().int().nonnegative(),
    accounted: z.object({
      synced: z.number().int().nonnegative(),
      notSynced: z.number().int().nonnegative(),
      skipped: z.number().int().nonnegative(),
      quarantined: z.number().int().nonnegative(),
    }),
    /** Ids without an outcome, older than the grace period, found by this audit. */
    missing: z.number().int().nonnegative(),
    /** Ids in the window that an audit re-drove and that now have an outcome. */
    healed: z.number().int().nonnegative(),
    status: z.enum(['complete', 'healing', 'incomplete']),
  }),
  key: (p) => p.mailboxId,
});

export const mailboxNotificationReceivedV1 = defineEvent({
  type: 'mailbox.notification-received',
  version: 1,
  topic: Topics.mailNotifications,
  description:
    'mail-gateway internal: an authenticated provider notification, handed off durably by the webhook before it answers. The pull happens after.',
  payload: z.object({
    provider: providerName,
    mailboxKey: z.string().min(3).max(400),
    /** Gmail: the push historyId. */
    historyId: z.string().max(40).optional(),
    /** Graph: subscription, change type / lifecycle event, resource. */
    subscriptionId: z.string().max(200).optional(),
    lifecycleEvent: z.enum(['reauthorizationRequired', 'subscriptionRemoved', 'missed']).optional(),
    changeType: z.string().max(64).optional(),
    resource: z.string().max(2000).optional(),
    receivedAt: isoDateTime,
  }),
  key: (p) => p.mailboxKey,
});

export const smartBccRefusedV1 = defineEvent({
  type: 'smart-bcc.refused',
  version: 1,
  topic: Topics.mailMailboxes,
  description:
    "A mail sent to a user's Auto-BCC address was held and never observed: its sender is not the address's owner nor an allowed sender (BCC-1). Shown to the CRM as a skipped message with reason sender_mismatch.",
  payload: z.object({
    locationId: crmId,
    userId: crmId,
    connectionId: z.uuid().nullable(),
    mailboxKey: z.string().min(3).max(400),
    providerMessageId: z.string().min(1).max(1024),
    rfcMessageId: rfcMessageId.nullable(),
    subject: z.string().max(4096).nullable(),
    from: mailboxAddress.nullable(),
    reason: z.literal('sender_mismatch'),
    rule: z.literal('BCC-1'),
    detail: z.string().max(2000),
    occurredAt: isoDateTime,
  }),
  key: (p) => p.mailboxKey,
  locationId: (p) => p.locationId,
});

export const mailEvents = [
  messageObservedV1,
  mailboxSyncHealthChangedV1,
  mailboxSyncGapV1,
  mailboxMessageQuarantinedV1,
  mailboxNotificationReceivedV1,
  mailboxAuditedV1,
  smartBccRefusedV1,
] as const;
