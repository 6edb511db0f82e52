import type { EventCatalog } from '@mailbridge/contracts';
import type { RawRecord } from './dead-letter-admin';
import type { OutgoingEvent } from './event-bus.port';

/** The records of a publish, every envelope validated first: one invalid event rejects the whole batch. */
export function validatedRecords(
  catalog: EventCatalog,
  events: readonly OutgoingEvent[],
): Array<{ readonly topic: string; readonly record: RawRecord }> {
  return events.map(({ topic, envelope }) => {
    const parsed = catalog.parse(envelope, topic);
    return {
      topic,
      record: {
        key: parsed.key,
        value: catalog.serialize(parsed),
        headers: {
          type: parsed.type,
          version: String(parsed.version),
          ...(parsed.correlationId ? { 'correlation-id': parsed.correlationId } : {}),
          ...(parsed.traceparent ? { traceparent: parsed.traceparent } : {}),
        },
      },
    };
  });
}
