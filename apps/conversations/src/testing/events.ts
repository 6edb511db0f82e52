import { randomUUID } from 'node:crypto';
import {
  conversationIdFor,
  type ConnectionSnapshot,
  type PayloadOf,
  type messageSyncedV1,
} from '@mailbridge/contracts';

export function connection(
  over: Partial<ConnectionSnapshot> & Pick<ConnectionSnapshot, 'locationId' | 'userId'>,
): ConnectionSnapshot {
  const provider = over.provider ?? 'google';
  const emailAddress = over.emailAddress ?? `${over.userId}@acme.example`;
  return {
    connectionId: randomUUID(),
    provider,
    emailAddress,
    mailboxKey: `${provider}:${emailAddress.toLowerCase()}`,
    syncScope: provider === 'google' ? 'contact_mail' : 'crm_threads',
    status: 'active',
    connectedAt: '2026-11-01T08:00:00.000Z',
    ...over,
  };
}

type Synced = PayloadOf<typeof messageSyncedV1>;
type Message = Synced['message'];

/** A message.synced payload: an inbound reply from the contact unless told otherwise. */
export function synced(
  locationId: string,
  contactId: string,
  over: Partial<Omit<Synced, 'message'>> & { message?: Partial<Message> } = {},
): Synced {
  const id = randomUUID().slice(0, 8);
  const { message, ...rest } = over;
  return {
    deliveryId: randomUUID(),
    locationId,
    contactId,
    conversationId: conversationIdFor(locationId, contactId),
    connectionId: null,
    userId: 'usr_sam',
    direction: 'inbound',
    source: 'mailbox',
    crmMessageId: null,
    rule: 'SYN-2',
    ...rest,
    message: {
      provider: 'google',
      providerMessageId: `gm-${id}`,
      providerThreadId: 'thread-1',
      rfcMessageId: `<${id}@mail.example.com>`,
      inReplyTo: null,
      references: [],
      from: { name: 'Jane Doe', address: 'jane@example.com' },
      to: [{ address: 'usr_sam@acme.example' }],
      cc: [],
      bcc: [],
      subject: 'Re: Your quote',
      text: 'Thanks!',
      html: null,
      bodyTruncated: false,
      sentAt: '2026-11-20T09:00:00.000Z',
      receivedAt: '2026-11-20T09:00:02.000Z',
      attachments: [],
      ...message,
    },
  };
}
