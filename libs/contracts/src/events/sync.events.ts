import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { Topics } from '../topics';
import { canonicalMessage } from './mail.events';
import { crmId, emailAddress, isoDateTime, mailboxAddress, rfcMessageId } from './common';

export const messageSyncedV1 = defineEvent({
  type: 'message.synced',
  version: 1,
  topic: Topics.syncMessages,
  description:
    'sync-engine decided this message belongs in this conversation (the rule that decided it in `rule`). conversations records it once per conversation (SYN-5) in send order (SYN-6).',
  payload: z.object({
    /** Deterministic per (conversation, message): a redelivered decision carries the same id. */
    deliveryId: z.uuid(),
    locationId: crmId,
    contactId: crmId,
    conversationId: z.uuid(),
    connectionId: z.uuid().nullable(),
    userId: crmId.nullable(),
    direction: z.enum(['inbound', 'outbound']),
    source: z.enum(['crm', 'mailbox', 'smart_bcc']),
    /** When this is the mailbox copy of an email the CRM sent: the CRM message it confirms. */
    crmMessageId: z.uuid().nullable(),
    message: canonicalMessage,
    /** e.g. SYN-2, SYN-3, SYN-4, BCC-1, ADR-4. */
    rule: z.string().max(16),
  }),
  key: (p) => p.conversationId,
  locationId: (p) => p.locationId,
});

/** Why a message did not sync: one closed list, so the CRM (and a switch over it) knows every case. */
export const SKIP_REASONS = [
  'attachment_too_large',
  'connection_disconnected',
  'connection_replaced',
  'scope_crm_threads',
  'contact_not_assigned',
  'sender_mismatch',
  'no_recipient',
  'no_matching_contact',
  'thread_bound_elsewhere',
  'contact_deleted',
  'no_live_connection',
  'predates_synced_thread',
  'duplicate',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export const messageSkippedV1 = defineEvent({
  type: 'message.skipped',
  version: 1,
  topic: Topics.syncMessages,
  description:
    'A message that did not sync, with why, so nothing disappears silently (ATT-1, CON-3, CON-4, sender_mismatch...). Only emitted where a location can be named.',
  payload: z.object({
    locationId: crmId,
    userId: crmId.nullable(),
    contactId: crmId.nullable(),
    connectionId: z.uuid().nullable(),
    mailboxKey: z.string().max(400).nullable(),
    providerMessageId: z.string().max(1024).nullable(),
    rfcMessageId: rfcMessageId.nullable(),
    subject: z.string().max(4096).nullable(),
    from: mailboxAddress.nullable(),
    reason: z.enum(SKIP_REASONS),
    rule: z.string().max(16),
    detail: z.string().max(2000),
    occurredAt: isoDateTime,
  }),
  key: (p) => `location:${p.locationId}`,
  locationId: (p) => p.locationId,
});

export const contactCreateRequestedV1 = defineEvent({
  type: 'contact.create-requested',
  version: 1,
  topic: Topics.syncContactRequests,
  description:
    'Auto-BCC (BCC-1), the one case where a contact is created: conversations creates it with this id unless a contact with the address already exists in the location (then nothing).',
  payload: z.object({
    locationId: crmId,
    /** Deterministic from (location, address), so retries converge on one contact. */
    contactId: crmId,
    email: emailAddress,
    name: z.string().max(512).nullable(),
    assignedUserId: crmId,
    requestedAt: isoDateTime,
  }),
  key: (p) => `${p.locationId}:${p.email.toLowerCase()}`,
  locationId: (p) => p.locationId,
});

export const messageDecidedV1 = defineEvent({
  type: 'message.decided',
  version: 1,
  topic: Topics.syncDecisions,
  description:
    "sync-engine's outcome for one observed message of a mailbox (SYN-10), emitted with every decision and again when a repeat of an already decided message arrives. mail-gateway keeps it in its ledger of outcomes, which the completeness audit compares with the provider. Ids and codes only, never content.",
  payload: z.object({
    mailboxKey: z.string().min(3).max(400),
    providerMessageId: z.string().min(1).max(1024),
    /** synced: in one or more conversations; not_synced: a rule said no (private mail); skipped: shown to the CRM. */
    outcome: z.enum(['synced', 'not_synced', 'skipped']),
    /** The rule that decided it, e.g. SYN-2, SYN-6 (parked), ATT-1. */
    rule: z.string().max(16),
    /** The reason code of a skip (e.g. no_matching_contact, parked); null when synced. */
    reason: z.string().max(64).nullable(),
    conversations: z.number().int().nonnegative(),
    decidedAt: isoDateTime,
  }),
  key: (p) => p.mailboxKey,
});

export const syncEvents = [
  messageSyncedV1,
  messageSkippedV1,
  contactCreateRequestedV1,
  messageDecidedV1,
] as const;
