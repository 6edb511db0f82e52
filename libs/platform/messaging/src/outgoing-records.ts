import type { EventCatalog, EventEnvelope } from '@mailbridge/contracts';
import type { RawRecord } from './dead-letter-admin';
import type { OutgoingEvent } from './event-bus.port';

/**
 * The records of a publish, for both buses: key = envelope key, value = the serialized envelope, headers `type`,
 * `version`, `correlation-id`, `traceparent`. Every envelope is validated first (one invalid event rejects the whole
 * batch), except one that comes with its `json` (the outbox's copy of what `catalog.create` validated): that text is
 * the value as it is, so the relay neither validates nor serializes an event a second time (issue 16).
 */
export function validatedRecords(
  catalog: EventCatalog,
  events: readonly OutgoingEvent[],
): Array<{ readonly topic: string; readonly record: RawRecord }> {
  return events.map(({ topic, envelope, json }) => {
    const checked: EventEnvelope = json === undefined ? catalog.parse(envelope, topic) : envelope;
    return {
      topic,
      record: {
        key: checked.key,
        value: json ?? catalog.serialize(checked),
        headers: {
          type: checked.type,
          version: String(checked.version),
          ...(checked.correlationId ? { 'correlation-id': checked.correlationId } : {}),
          ...(checked.traceparent ? { traceparent: checked.traceparent } : {}),
        },
      },
    };
  });
}
