import { randomUUID } from 'node:crypto';
import {
  ConnectionSnapshot,
  EventEnvelope,
  PayloadOf,
  connectionConnectedV1,
  connectionDisconnectedV1,
  connectionUpdatedV1,
  contactUpsertedV1,
  conversationIdFor,
  emailRequestedV1,
  eventCatalog,
  messageObservedV1,
  sendSucceededV1,
} from '@mailbridge/contracts';
import type { ObservedMessage } from '../decisions/decision.types';
import { observed as observedPayload } from './builders';

/** Envelopes the other services would publish, for sync-engine's integration tests. */

export function connectionSnapshot(over: Partial<ConnectionSnapshot> = {}): ConnectionSnapshot {
  const email = over.emailAddress ?? 'sam@acme.example';
  const provider = over.provider ?? 'google';
  return {
    connectionId: randomUUID(),
    locationId: 'loc_a',
    userId: 'usr_sam',
    provider,
    emailAddress: email,
    mailboxKey: `${provider}:${email.toLowerCase()}`,
    syncScope: provider === 'google' ? 'contact_mail' : 'crm_threads',
    status: 'active',
    connectedAt: '2026-11-01T00:00:00.000Z',
    ...over,
  };
}

export const connected = (connection: ConnectionSnapshot) =>
  eventCatalog.create(connectionConnectedV1, { connection });

export const disconnected = (connection: ConnectionSnapshot) =>
  eventCatalog.create(connectionDisconnectedV1, {
    connection: { ...connection, status: 'disconnected' },
    disconnectedAt: '2026-11-21T00:00:00.000Z',
  });

export const updated = (connection: ConnectionSnapshot, previousConnectionId: string) =>
  eventCatalog.create(connectionUpdatedV1, { connection, previousConnectionId });

let revision = 0;
export const contactUpserted = (
  over: Partial<PayloadOf<typeof contactUpsertedV1>> & { contactId: string; email: string },
) =>
  eventCatalog.create(contactUpsertedV1, {
    locationId: 'loc_a',
    name: null,
    assignedUserId: 'usr_sam',
    createdAt: '2026-01-01T00:00:00.000Z',
    revision: ++revision,
    ...over,
  });

export const observedEvent = (payload: ObservedMessage): EventEnvelope<ObservedMessage> =>
  eventCatalog.create(messageObservedV1, payload);

export const observedMessage = observedPayload;

export const emailRequested = (
  over: Partial<PayloadOf<typeof emailRequestedV1>> & { locationId?: string; contactId?: string } = {},
) => {
  const locationId = over.locationId ?? 'loc_a';
  const contactId = over.contactId ?? 'ct_jane';
  return eventCatalog.create(emailRequestedV1, {
    messageId: randomUUID(),
    idempotencyKey: randomUUID(),
    userId: 'usr_sam',
    conversationId: conversationIdFor(locationId, contactId),
    kind: 'individual',
    to: [{ address: 'jane@example.com' }],
    cc: [],
    bcc: [],
    subject: 'Your quote',
    text: 'Hi Jane',
    html: null,
    attachments: [],
    replyTo: null,
    requestedAt: '2026-11-20T09:00:00.000Z',
    ...over,
    locationId,
    contactId,
  });
};

export const sendSucceeded = (payload: PayloadOf<typeof sendSucceededV1>) =>
  eventCatalog.create(sendSucceededV1, payload);
