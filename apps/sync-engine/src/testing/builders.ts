import type { AttachmentRef, CanonicalMessage } from '@mailbridge/contracts';
import type {
  BindingView,
  ConnectionView,
  ContactView,
  ObservedDecisionInput,
  ObservedMessage,
  SyncPolicy,
} from '../decisions/decision.types';

/** Test data builders for the sync rules: a sensible default for everything, overridden per test. */

export const SAM = 'sam@acme.example';
export const SAM_GMAIL_KEY = `google:${SAM}`;

export function canonical(over: Partial<CanonicalMessage> = {}): CanonicalMessage {
  return {
    provider: 'google',
    providerMessageId: 'gm-1',
    providerThreadId: 'th-1',
    rfcMessageId: '<m1@mail.example.com>',
    inReplyTo: null,
    references: [],
    from: { name: 'Jane Doe', address: 'jane@example.com' },
    to: [{ name: 'Sam', address: SAM }],
    cc: [],
    bcc: [],
    subject: 'Hello',
    text: 'Hi Sam',
    html: null,
    bodyTruncated: false,
    sentAt: '2026-11-20T09:00:00.000Z',
    receivedAt: '2026-11-20T09:00:02.000Z',
    attachments: [],
    ...over,
  };
}

export function observed(
  over: Partial<Omit<ObservedMessage, 'message'>> & { message?: Partial<CanonicalMessage> } = {},
): ObservedMessage {
  const { message, ...rest } = over;
  return {
    mailboxId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    mailboxKey: SAM_GMAIL_KEY,
    mailboxAddress: SAM,
    source: 'mailbox',
    direction: 'inbound',
    inSent: false,
    labels: ['INBOX'],
    observedAt: '2026-11-20T09:00:05.000Z',
    ...rest,
    message: canonical(message),
  };
}

export function connection(over: Partial<ConnectionView> = {}): ConnectionView {
  return {
    connectionId: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70',
    locationId: 'loc_a',
    userId: 'usr_sam',
    provider: 'google',
    emailNormalized: SAM,
    mailboxKey: SAM_GMAIL_KEY,
    syncScope: 'contact_mail',
    status: 'active',
    ...over,
  };
}

export function contact(over: Partial<ContactView> = {}): ContactView {
  return {
    locationId: 'loc_a',
    contactId: 'ct_jane',
    emailNormalized: 'jane@example.com',
    assignedUserId: 'usr_sam',
    createdAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

export function binding(over: Partial<BindingView> = {}): BindingView {
  return {
    bindingId: '00000000-0000-4000-8000-00000000000b',
    mailboxKey: SAM_GMAIL_KEY,
    locationId: 'loc_a',
    connectionId: '3f1c2b4a-6d7e-4f80-9a1b-2c3d4e5f6a70',
    userId: 'usr_sam',
    contactId: 'ct_jane',
    conversationId: '65c48b93-bcb4-5439-b207-4a7df5f6da12',
    originRule: 'SYN-1',
    status: 'active',
    endReason: null,
    ...over,
  };
}

export function policy(over: Partial<SyncPolicy> = {}): SyncPolicy {
  return { attachmentLimits: {}, stripLocations: new Set(), smartBccDomains: [], ...over };
}

export function decisionInput(over: Partial<ObservedDecisionInput> = {}): ObservedDecisionInput {
  return {
    observed: observed(),
    connections: [connection()],
    bindings: [],
    keyMatches: [],
    contacts: [contact()],
    crmSends: [],
    smartBccAddresses: new Set(),
    policy: policy(),
    ...over,
  };
}

const MB = 1024 * 1024;

export function attachment(over: Partial<AttachmentRef> = {}): AttachmentRef {
  return {
    objectKey: `sha256-${'ab'.repeat(32)}`,
    filename: 'quote.pdf',
    contentType: 'application/pdf',
    detectedKind: 'pdf',
    size: MB,
    sha256: 'ab'.repeat(32),
    ...over,
  };
}

export { MB };
