import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { Topics } from '../topics';
import { crmId, emailAddress, isoDateTime, providerName, syncScope } from './common';

/**
 * A connection as other services need to know it: who, which mailbox, which policy. Never a token (CON-1).
 * `mailboxKey` identifies the provider account (`<provider>:<lower-cased address>`): several connections (one per
 * location, SYN-4) can point at one mailbox, which mail-gateway watches once.
 */
export const connectionSnapshot = z.object({
  connectionId: z.uuid(),
  locationId: crmId,
  userId: crmId,
  provider: providerName,
  emailAddress,
  mailboxKey: z.string().min(3).max(400),
  syncScope,
  status: z.enum(['active', 'reauth_required', 'disconnected', 'replaced']),
  connectedAt: isoDateTime,
});
export type ConnectionSnapshot = z.infer<typeof connectionSnapshot>;

const byConnection = (p: { connection: ConnectionSnapshot }) => p.connection.connectionId;
const location = (p: { connection: ConnectionSnapshot }) => p.connection.locationId;

export const connectionConnectedV1 = defineEvent({
  type: 'connection.connected',
  version: 1,
  topic: Topics.identityConnections,
  description:
    'A user connected a mailbox in a location (CON-1). `connection.connectedAt` is the start point, fixed before the user is told "connected": everything the mailbox receives or sends at or after it syncs, however late the mailbox is set up; past mail is not imported (CON-6).',
  payload: z.object({ connection: connectionSnapshot }),
  key: byConnection,
  locationId: location,
});

export const connectionUpdatedV1 = defineEvent({
  type: 'connection.updated',
  version: 1,
  topic: Topics.identityConnections,
  description:
    'Update email (CON-3): a new connection replaced the previous one of the same (location, user). New CRM email goes through the new mailbox; threads synced through the old one stop syncing.',
  payload: z.object({ connection: connectionSnapshot, previousConnectionId: z.uuid() }),
  key: byConnection,
  locationId: location,
});

export const connectionDisconnectedV1 = defineEvent({
  type: 'connection.disconnected',
  version: 1,
  topic: Topics.identityConnections,
  description:
    'Disconnect (CON-4): sync stops both ways, the watch is removed, synced threads never sync again. Recorded messages stay.',
  payload: z.object({ connection: connectionSnapshot, disconnectedAt: isoDateTime }),
  key: byConnection,
  locationId: location,
});

export const connectionReauthRequiredV1 = defineEvent({
  type: 'connection.reauth-required',
  version: 1,
  topic: Topics.identityConnections,
  description:
    'The provider rejected the refresh token (CON-5). Sync pauses without losing its cursor; the CRM asks the user to re-consent.',
  payload: z.object({
    connection: connectionSnapshot,
    reason: z.string().max(200),
    detectedAt: isoDateTime,
  }),
  key: byConnection,
  locationId: location,
});

export const connectionReactivatedV1 = defineEvent({
  type: 'connection.reactivated',
  version: 1,
  topic: Topics.identityConnections,
  description:
    'The user re-consented the same mailbox (CON-5): the connection is active again with the same identity; sync resumes from its cursor.',
  payload: z.object({ connection: connectionSnapshot }),
  key: byConnection,
  locationId: location,
});

export const connectionSettingsChangedV1 = defineEvent({
  type: 'connection.settings-changed',
  version: 1,
  topic: Topics.identityConnections,
  description: 'A connection setting changed, e.g. its sync scope (SYN-3).',
  payload: z.object({ connection: connectionSnapshot }),
  key: byConnection,
  locationId: location,
});

export const connectionEvents = [
  connectionConnectedV1,
  connectionUpdatedV1,
  connectionDisconnectedV1,
  connectionReauthRequiredV1,
  connectionReactivatedV1,
  connectionSettingsChangedV1,
] as const;
