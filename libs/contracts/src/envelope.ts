import { z } from 'zod';

/**
 * The one envelope every event travels in, on Kafka and on the in-process bus alike.
 * `type` + `version` select the payload schema in the event catalog.
 */
export const eventEnvelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'type must look like "contact.upserted"'),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  locationId: z.string().min(1).optional(),
  /** Partition key: events with the same key are delivered in order. */
  key: z.string().min(1),
  payload: z.unknown(),
  /** W3C trace context of the operation that caused the event. */
  traceparent: z.string().optional(),
  /** Follows one CRM request through every event it causes (logged on every line). */
  correlationId: z.string().optional(),
});

export type EventEnvelope<TPayload = unknown> = Omit<z.infer<typeof eventEnvelopeSchema>, 'payload'> & {
  payload: TPayload;
};
