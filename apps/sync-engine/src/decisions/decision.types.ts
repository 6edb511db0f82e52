import type {
  CanonicalMessage,
  ConnectionSnapshot,
  PayloadOf,
  ProviderName,
  SkipReason,
  SyncScope,
  messageObservedV1,
} from '@mailbridge/contracts';
import type { AttachmentSizeLimits } from '@mailbridge/domain-mail';

export type ObservedMessage = PayloadOf<typeof messageObservedV1>;
export type ConnectionStatus = ConnectionSnapshot['status'];

/** A connection as sync-engine keeps it (a placeholder may lack the mailbox until its own event arrives). */
export interface ConnectionView {
  readonly connectionId: string;
  readonly locationId: string;
  readonly userId: string;
  readonly provider: ProviderName | null;
  /** Lower-cased address (ADR-5). */
  readonly emailNormalized: string | null;
  readonly mailboxKey: string | null;
  readonly syncScope: SyncScope | null;
  readonly status: ConnectionStatus;
}

/** Why a binding no longer syncs. */
export type BindingEndReason = 'connection_disconnected' | 'connection_replaced' | 'rebound_elsewhere';

/** Why a binding does not deliver now: it ended, or its contact was deleted from the CRM. */
export type InactiveReason = BindingEndReason | 'contact_deleted';

/** A synced thread: one provider thread of one mailbox bound to one conversation of one location through one connection. */
export interface BindingView {
  readonly bindingId: string;
  readonly mailboxKey: string;
  readonly locationId: string;
  readonly connectionId: string;
  readonly userId: string;
  readonly contactId: string;
  readonly conversationId: string;
  /** The rule that created it: SYN-1 (CRM send), SYN-3/SYN-4/ADR-4 (contact mail), BCC-1. */
  readonly originRule: string;
  /**
   * When the message that created the binding reached the mailbox (null for CRM sends and smart-BCC: nothing precedes
   * them). When set, mail of a bound provider thread that reached the mailbox before that thread's first synced message
   * (KeyMatch.firstAt; this for a key without one) and does not reply into the thread syncs only if it would on its own.
   */
  readonly originAt?: string | null;
  readonly status: 'active' | 'ended';
  readonly endReason: BindingEndReason | null;
  /** The bound contact was deleted in the CRM: no new mail matches it (contact.deleted). */
  readonly contactDeleted?: boolean;
}

/** One key of the observed message that found a binding (see thread-keys.ts). */
export interface KeyMatch {
  readonly key: string;
  readonly bindingId: string;
  /** See BindingKeyValue.firstAt. */
  readonly firstAt?: string | null;
}

export interface ContactView {
  readonly locationId: string;
  readonly contactId: string;
  readonly emailNormalized: string;
  readonly assignedUserId: string | null;
  /** ISO time the CRM created the contact (ADR-3). */
  readonly createdAt: string;
}

/** An email the CRM asked sync-engine to send, as far as recognising its mailbox copy needs (SYN-5). */
export interface CrmSendView {
  readonly sendId: string;
  readonly locationId: string;
  readonly userId: string;
  readonly contactId: string;
  readonly conversationId: string;
  readonly connectionId: string | null;
  /** The mailbox it went out through; null for the location provider. */
  readonly mailboxKey: string | null;
  readonly bindingId: string | null;
  readonly rfcMessageId: string;
}

export interface SyncPolicy {
  /** ATT-1 per-provider limits (bytes); the lib's defaults where unset. */
  readonly attachmentLimits: AttachmentSizeLimits;
  /** ATT-1: locations whose policy is `strip` (the default is `skip`). */
  readonly stripLocations: ReadonlySet<string>;
  /** Addresses at these domains are smart-BCC addresses (never contacts, never shown as recipients). */
  readonly smartBccDomains: readonly string[];
}

export interface ObservedDecisionInput {
  readonly observed: ObservedMessage;
  /** Connections whose mailbox is the observed one, and (smart-BCC) every connection of the smart-BCC user. */
  readonly connections: readonly ConnectionView[];
  /** Bindings found through the message's keys, in any mailbox of the input (see keyMatches). */
  readonly bindings: readonly BindingView[];
  readonly keyMatches: readonly KeyMatch[];
  /** Live contacts of the relevant locations whose address appears in the message. */
  readonly contacts: readonly ContactView[];
  /** CRM sends whose Message-ID or id (X-Mailbridge-Ref) the message carries. */
  readonly crmSends: readonly CrmSendView[];
  /** Smart-BCC addresses seen before (lower-cased). */
  readonly smartBccAddresses: ReadonlySet<string>;
  /** Loss path 5: the message's Message-ID (`m:` key) is already known in a synced thread of its mailbox. */
  readonly messageIdTaken?: boolean;
  readonly policy: SyncPolicy;
}

export interface Delivery {
  readonly deliveryId: string;
  readonly locationId: string;
  readonly contactId: string;
  readonly conversationId: string;
  readonly connectionId: string | null;
  readonly userId: string | null;
  readonly direction: 'inbound' | 'outbound';
  readonly source: 'crm' | 'mailbox' | 'smart_bcc';
  readonly crmMessageId: string | null;
  readonly rule: string;
  /** The binding it went through or created. */
  readonly bindingId: string | null;
  /** The message as the CRM records it: smart-BCC addresses removed, refused attachments left behind. */
  readonly message: CanonicalMessage;
}

/**
 * Reason codes of a skip. Published ones concern the CRM (a contact or a synced thread); private ones (mail that
 * never was CRM mail, repeats) are only recorded, because publishing them would copy private mail into the CRM.
 */
export type { SkipReason } from '@mailbridge/contracts';

export interface Skip {
  readonly locationId: string | null;
  readonly userId: string | null;
  readonly contactId: string | null;
  readonly connectionId: string | null;
  readonly reason: SkipReason;
  readonly rule: string;
  readonly detail: string;
  /** True when the CRM is told (message.skipped); false when only recorded. */
  readonly publish: boolean;
}

export interface BindingKeyValue {
  readonly key: string;
  /** For `m:` keys, the message's id in this mailbox (Graph replies need it). */
  readonly providerMessageId: string | null;
  /** For `t:` keys: when the earliest synced message of that provider thread reached the mailbox (kept the earliest). */
  readonly firstAt?: string | null;
}

export interface NewBinding {
  readonly bindingId: string;
  readonly mailboxKey: string;
  readonly locationId: string;
  readonly connectionId: string;
  readonly userId: string;
  readonly contactId: string;
  readonly conversationId: string;
  readonly originRule: string;
  /** See BindingView.originAt. */
  readonly originAt?: string | null;
  readonly keys: readonly BindingKeyValue[];
}

export interface KeyAddition {
  readonly bindingId: string;
  readonly mailboxKey: string;
  readonly keys: readonly BindingKeyValue[];
}

export interface ContactRequest {
  readonly locationId: string;
  readonly contactId: string;
  readonly email: string;
  readonly name: string | null;
  readonly assignedUserId: string;
}

export interface ObservedDecision {
  readonly outcome: 'delivered' | 'skipped';
  readonly deliveries: readonly Delivery[];
  readonly skips: readonly Skip[];
  readonly newBindings: readonly NewBinding[];
  readonly keyAdditions: readonly KeyAddition[];
  readonly contactRequests: readonly ContactRequest[];
  /** Kept aside and decided again if its thread becomes bound later (messages observed out of order, SYN-6). */
  readonly park: boolean;
  /**
   * Loss path 5: another message of this mailbox's synced threads carries the same Message-ID; this one was kept as
   * its own message (counted: sync_engine_message_id_collisions_total).
   */
  readonly messageIdCollision: boolean;
  /** A smart-BCC address to remember (so it is stripped from the mailbox copies too). */
  readonly learnedSmartBcc: {
    readonly address: string;
    readonly locationId: string;
    readonly userId: string;
  } | null;
  /** Every rule that contributed, e.g. ['SYN-2', 'ATT-2']. */
  readonly rules: readonly string[];
  /** Why, step by step, each step naming its rule: what GET /internal/decisions shows. */
  readonly trace: readonly string[];
}
