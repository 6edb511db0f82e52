import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { Topics } from '../topics';
import { crmId, isoDateTime } from './common';

export const eventQuarantinedV1 = defineEvent({
  type: 'event.quarantined',
  version: 1,
  topic: Topics.platformQuarantine,
  description:
    "A consumer could not handle an event after its last attempt (SYN-10): the event is kept in the consuming service's quarantine (listable, retryable on `/internal/quarantine`) and its partition moved on. conversations records it as a sync event when a location is known. Never emitted for a failed `event.quarantined` itself (no loop).",
  payload: z.object({
    /** The item in the consuming service's quarantine (`POST /internal/quarantine/{id}/retry` on that service). */
    quarantineId: z.uuid(),
    service: z.string().min(1).max(64),
    /** `<service>.<consumer group>`: where the event stopped. */
    stage: z.string().min(1).max(200),
    topic: z.string().min(1).max(249),
    eventId: z.uuid(),
    eventType: z.string().min(1).max(200),
    eventVersion: z.number().int().positive(),
    eventKey: z.string().min(1).max(1024),
    locationId: crmId.nullable(),
    /** What the failed event was about, when its payload names it (top-level fields of the same names). */
    subject: z.object({
      contactId: z.string().max(128).nullable(),
      userId: z.string().max(128).nullable(),
      connectionId: z.string().max(128).nullable(),
      mailboxKey: z.string().max(400).nullable(),
      providerMessageId: z.string().max(1024).nullable(),
    }),
    /** The error's `code` (`handler_failed` when it has none) and class (e.g. `QueryFailedError`). */
    errorCode: z.string().min(1).max(200),
    errorClass: z.string().min(1).max(200),
    errorMessage: z.string().max(2000),
    attempts: z.number().int().nonnegative(),
    quarantinedAt: isoDateTime,
  }),
  // By location, so the CRM's record of them stays in order; otherwise by stage.
  key: (p) => (p.locationId ? `location:${p.locationId}` : `stage:${p.stage}`),
  locationId: (p) => p.locationId ?? undefined,
});

export const quarantineEvents = [eventQuarantinedV1] as const;
