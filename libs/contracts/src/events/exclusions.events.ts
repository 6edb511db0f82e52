import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { Topics } from '../topics';
import { crmId, emailAddress, isoDateTime } from './common';

/**
 * SYN-8: a location's or a connection's exclusion list as the CRM last set it (the whole list, not a diff).
 * conversations owns the location's list (this event, on its own topic), identity-connections the connection's
 * (connection.sync-exclusions-changed, on its topic): one producer per topic. mail-gateway keeps the latest revision
 * of each and refuses excluded mail before storing anything.
 */
const exclusionList = z.object({
  locationId: crmId,
  scope: z.enum(['location', 'connection']),
  /** The connection the list belongs to (scope `connection`), else null. */
  connectionId: z.uuid().nullable(),
  userId: crmId.nullable(),
  addresses: z.array(emailAddress).max(1000),
  /** Lower case, without `@`; a domain covers its subdomains. */
  domains: z.array(z.string().min(3).max(253)).max(500),
  /** Location lists only: mail whose every party is a user of the location. */
  betweenLocationUsers: z.boolean(),
  /** Increases with every change of this list; a consumer keeps the highest. */
  revision: z.number().int().positive(),
  changedAt: isoDateTime,
});

export const syncExclusionsChangedV1 = defineEvent({
  type: 'sync-exclusions.changed',
  version: 1,
  topic: Topics.settingsSyncExclusions,
  description:
    'SYN-8: the exclusion list of a location (conversations), as a whole. Mail with an excluded address or domain (and, when switched on, mail between users of the location) received after the change is never synced nor stored; mail-gateway counts it as `not_synced` (`excluded`) in its ledger.',
  payload: exclusionList,
  key: (p) => p.locationId,
  locationId: (p) => p.locationId,
});

export const connectionSyncExclusionsChangedV1 = defineEvent({
  type: 'connection.sync-exclusions-changed',
  version: 1,
  topic: Topics.identityConnections,
  description:
    "SYN-8: a connection's exclusion list (identity-connections), as a whole; the same shape as sync-exclusions.changed with scope `connection`. Ordered with the connection's other events.",
  payload: exclusionList,
  key: (p) => p.connectionId ?? `location:${p.locationId}`,
  locationId: (p) => p.locationId,
});

export const exclusionEvents = [syncExclusionsChangedV1, connectionSyncExclusionsChangedV1] as const;
