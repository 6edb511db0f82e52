import type { EventCatalog, EventEnvelope } from '@mailbridge/contracts';
import type { RawRecord } from './dead-letter-admin';
import type { OutgoingEvent } from './event-bus.port';

export interface OutgoingRecord {
  readonly topic: string;
  readonly record: RawRecord;
  /** The value passed the catalog's schema here (false: a consumer validates it, and dead-letters it if invalid). */
  readonly validated: boolean;
}

/**
 * The records of a publish, for both buses: key = envelope key, value = the serialized envelope, headers `type`,
 * `version`, `correlation-id`, `traceparent`. An envelope is validated first (one invalid event rejects the whole
 * batch), except one that comes with its `json` (the outbox's copy of what `catalog.create` validated): that text is
 * the value as it is, not serialized again (issue 16). It is checked here only if `checkJson` (the in-process bus, whose
 * groups trust what it validated); an invalid one is still sent, unvalidated, so its consumers dead-letter it as
 * Kafka's do, instead of one old outbox row stopping the relay.
 */
export function outgoingRecords(
  catalog: EventCatalog,
  events: readonly OutgoingEvent[],
  checkJson: boolean,
): OutgoingRecord[] {
  return events.map(({ topic, envelope, json }) => {
    const checked: EventEnvelope = json === undefined ? catalog.parse(envelope, topic) : envelope;
    return {
      topic,
      validated: json === undefined || (checkJson && passes(catalog, json, topic)),
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

function passes(catalog: EventCatalog, json: string, topic: string): boolean {
  try {
    catalog.deserialize(json, topic);
    return true;
  } catch {
    return false;
  }
}
