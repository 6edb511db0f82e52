import { z } from 'zod';
import { defineEvent } from '../event-catalog';
import { Topics } from '../topics';
import { crmId, emailAddress, isoDateTime } from './common';

const contactKey = (p: { locationId: string; contactId: string }) => `${p.locationId}:${p.contactId}`;

export const contactUpsertedV1 = defineEvent({
  type: 'contact.upserted',
  version: 1,
  topic: Topics.conversationsContacts,
  description:
    'A contact was created or changed in the CRM (the CRM is the source of truth). Carries the whole contact, so a consumer can keep a projection without reading anything else.',
  payload: z.object({
    locationId: crmId,
    contactId: crmId,
    email: emailAddress,
    name: z.string().max(512).nullable(),
    assignedUserId: crmId.nullable(),
    /** When the contact was created in the CRM: ADR-3 picks the earliest of contacts sharing an address. */
    createdAt: isoDateTime,
    /** Monotonic per contact: a consumer ignores an upsert older than what it has. */
    revision: z.number().int().nonnegative(),
  }),
  key: contactKey,
  locationId: (p) => p.locationId,
});

export const contactDeletedV1 = defineEvent({
  type: 'contact.deleted',
  version: 1,
  topic: Topics.conversationsContacts,
  description: 'A contact was removed from the CRM. Messages already recorded stay; no new mail matches it.',
  payload: z.object({
    locationId: crmId,
    contactId: crmId,
    revision: z.number().int().nonnegative(),
  }),
  key: contactKey,
  locationId: (p) => p.locationId,
});

export const contactEvents = [contactUpsertedV1, contactDeletedV1] as const;
