/**
 * Every topic the platform uses, one constant each. Names are `<domain>.<stream>.v<major>`.
 * NEVER rename or reuse a topic: a breaking change to a stream is a new topic (`.v2`) produced side by side.
 * Every topic has a dead-letter twin, `<topic>.dlq`.
 */
export const Topics = {
  /** Connection lifecycle, produced by identity-connections, keyed by connection id. */
  identityConnections: 'identity.connections.v1',
  /** Provider notifications handed off by the webhooks (mail-gateway internal), keyed by mailbox id. */
  mailNotifications: 'mail.notifications.v1',
  /** Mailbox sync health and sync gaps (mail-gateway), keyed by mailbox id. */
  mailMailboxes: 'mail.mailboxes.v1',
  /** Every message observed in a watched mailbox, keyed by mailbox id. */
  mailObserved: 'mail.observed.v1',
  /** Send commands for mail-gateway, keyed by connection id. */
  mailSend: 'mail.send.v1',
  /** Results of send commands, keyed by connection id. */
  mailDelivery: 'mail.delivery.v1',
  /** Messages synced into (or skipped from) conversations, keyed by conversation id. */
  syncMessages: 'sync.messages.v1',
  /** sync-engine's outcome for every observed message (SYN-10 ledger; ids and codes only), keyed by mailbox key. */
  syncDecisions: 'sync.decisions.v1',
  /** Emails sync-engine refused to route (SND-1..4, ATT-1/2, CON-4), keyed by conversation id. */
  syncSendRefusals: 'sync.send-refusals.v1',
  /** Contacts sync-engine asks conversations to create (Auto-BCC, BCC-1), keyed by location + address. */
  syncContactRequests: 'sync.contact-requests.v1',
  /** Contacts as the CRM keeps them, keyed by location + contact id. */
  conversationsContacts: 'conversations.contacts.v1',
  /** Emails the CRM asked to send, keyed by conversation id. */
  conversationsOutbound: 'conversations.outbound.v1',
  /** Events a consumer of any service quarantined after its last attempt (SYN-10), keyed by location (else stage). */
  platformQuarantine: 'platform.quarantine.v1',
  /** What CRM automations act on, from conversations (contact.replied, message.bounced; SYN-9), keyed by location + contact. */
  conversationsActivity: 'conversations.activity.v1',
  /** SYN-8 exclusion lists of locations (conversations) and connections (identity-connections), keyed by location. */
  settingsSyncExclusions: 'settings.sync-exclusions.v1',
  /** SYN-7: read / trashed / deleted changes of synced messages seen in a mailbox (mail-gateway), keyed by mailbox id. */
  mailStates: 'mail.states.v1',
  /** SYN-7: read / unread changes the CRM asks mail-gateway to apply in a mailbox, keyed by mailbox key. */
  conversationsMailboxState: 'conversations.mailbox-state.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

export const DLQ_SUFFIX = '.dlq';

export function dlqTopic(topic: TopicName): `${TopicName}.dlq` {
  return `${topic}${DLQ_SUFFIX}`;
}

export const ALL_TOPICS: readonly TopicName[] = Object.values(Topics);

/** Every topic and its dead-letter twin: what a broker (or the Helm chart) must provide. */
export const ALL_TOPICS_WITH_DLQ: readonly string[] = ALL_TOPICS.flatMap((t) => [t, dlqTopic(t)]);
