import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { Topics } from '../topics';
import { crmId, isoDateTime, providerName } from './common';

/** SYN-7: the state of a message in its mailbox, as the CRM mirrors it. */
export const mailboxMessageState = z.object({
  read: z.boolean(),
  /** In the mailbox's trash (Gmail TRASH label, Outlook Deleted Items). */
  trashed: z.boolean(),
  /** Gone from the mailbox for good. The CRM flags (or hides) it; it never erases its own copy. */
  deleted: z.boolean(),
});
export type MailboxMessageState = z.infer<typeof mailboxMessageState>;

export const stateFlag = z.enum(['read', 'trashed', 'deleted']);

export const messageStateChangedV1 = defineEvent({
  type: 'message.state-changed',
  version: 1,
  topic: Topics.mailStates,
  description:
    'SYN-7: a synced message was read, marked unread, trashed, restored or deleted in its mailbox (Gmail history label changes and deletions, Graph delta changes). Only for messages sync-engine synced into the CRM; never for other mail, and not for the echo of a change the CRM itself asked for. conversations applies each changed flag, last writer wins by `changedAt`.',
  payload: z.object({
    mailboxId: z.uuid(),
    mailboxKey: z.string().min(3).max(400),
    connections: z.array(z.object({ connectionId: z.uuid(), locationId: crmId, userId: crmId })).max(1000),
    provider: providerName,
    providerMessageId: z.string().min(1).max(1024),
    /** The whole state after the change. */
    state: mailboxMessageState,
    /** The flags this change is about (the others are unchanged, repeated for convenience). */
    changed: z.array(stateFlag).min(1).max(3),
    /** The provider's change time (Graph lastModifiedDateTime; Gmail, which has none, when the change was pulled). */
    changedAt: isoDateTime,
  }),
  key: (p) => p.mailboxId,
});

export const messageStateChangeRequestedV1 = defineEvent({
  type: 'message.state-change-requested',
  version: 1,
  topic: Topics.conversationsMailboxState,
  description:
    'SYN-7: the CRM marked messages (one, or every synced message of a conversation) read or unread; mail-gateway applies it in the mailbox (Gmail messages.modify / batchModify of UNREAD, Graph PATCH isRead) within the mailbox quota budget and remembers it, so the change coming back through history/delta is not bounced.',
  payload: z.object({
    requestId: z.uuid(),
    locationId: crmId,
    connectionId: z.uuid().nullable(),
    mailboxKey: z.string().min(3).max(400),
    messages: z
      .array(z.object({ messageId: z.uuid(), providerMessageId: z.string().min(1).max(1024) }))
      .min(1)
      .max(1000),
    read: z.boolean(),
    requestedAt: isoDateTime,
  }),
  key: (p) => p.mailboxKey,
  locationId: (p) => p.locationId,
});

export const messageStateChangeFailedV1 = defineEvent({
  type: 'message.state-change-failed',
  version: 1,
  topic: Topics.mailStates,
  description:
    'SYN-7: a read/unread change the CRM asked for could not be applied in the mailbox (the message is gone, the mailbox is not connected, the provider refused it). conversations records it as a sync event, so it never fails silently.',
  payload: z.object({
    requestId: z.uuid(),
    locationId: crmId,
    connectionId: z.uuid().nullable(),
    mailboxKey: z.string().min(3).max(400),
    messageId: z.uuid(),
    providerMessageId: z.string().min(1).max(1024),
    read: z.boolean(),
    /** e.g. message_not_found, mailbox_not_connected, provider_rejected. */
    reason: z.string().min(1).max(64),
    detail: z.string().max(1000),
    failedAt: isoDateTime,
  }),
  key: (p) => p.mailboxKey,
  locationId: (p) => p.locationId,
});

export const stateEvents = [
  messageStateChangedV1,
  messageStateChangeRequestedV1,
  messageStateChangeFailedV1,
] as const;
