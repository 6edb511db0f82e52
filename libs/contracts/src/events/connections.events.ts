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

/** CON-7: why and when a connection is expected to break. */
export const connectionWarning = z.object({
  code: z.enum(['refresh_token_expiring', 'renewal_failing', 'scope_missing', 'admin_consent_required']),
  message: z.string().max(1000),
  /** When the connection is expected to stop working, if known. */
  expiresAt: isoDateTime.nullable(),
  missingScopes: z.array(z.string().max(200)).max(20).optional(),
  /** admin_consent_required: the tenant administrator's consent page. */
  adminConsentUrl: z.url().max(2000).optional(),
});
export type ConnectionWarningPayload = z.infer<typeof connectionWarning>;

export const connectionWarningV1 = defineEvent({
  type: 'connection.warning',
  version: 1,
  topic: Topics.identityConnections,
  description:
    'CON-7: a break is predictable before it happens: a refresh token with a known end (Google "Testing" apps: 7 days), watch/subscription renewals failing, a needed scope not granted, or a Microsoft tenant that requires admin consent. Sent when the warning appears or changes, before the connection turns reauth_required. `connection` is null when no connection exists yet (admin consent blocked the first connect).',
  payload: z.object({
    locationId: crmId,
    userId: crmId,
    connection: connectionSnapshot.nullable(),
    warning: connectionWarning,
    detectedAt: isoDateTime,
  }),
  key: (p) => p.connection?.connectionId ?? `${p.locationId}:${p.userId}`,
  locationId: (p) => p.locationId,
});

export const connectionEvents = [
  connectionConnectedV1,
  connectionUpdatedV1,
  connectionDisconnectedV1,
  connectionReauthRequiredV1,
  connectionReactivatedV1,
  connectionSettingsChangedV1,
] as const;

/** Not in `connectionEvents`: a warning changes no connection state, and its `connection` may be null. */
export const connectionWarningEvents = [connectionWarningV1] as const;
