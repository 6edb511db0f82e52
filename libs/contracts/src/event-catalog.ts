import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EventEnvelope, eventEnvelopeSchema } from './envelope';
import { storableDeep } from './storable-text';
import { TopicName } from './topics';

/** One event type at one schema version: where it travels, what it carries, how it is keyed. */
export interface EventDefinition<TType extends string = string, TSchema extends z.ZodType = z.ZodType> {
  readonly type: TType;
  readonly version: number;
  readonly topic: TopicName;
  readonly description: string;
  readonly payload: TSchema;
  /** The partition key: what must stay in order. */
  readonly key: (payload: z.infer<TSchema>) => string;
  /** Location the event belongs to, when it belongs to one. */
  readonly locationId?: (payload: z.infer<TSchema>) => string | undefined;
}

export type PayloadOf<D> = D extends EventDefinition<string, infer S> ? z.infer<S> : never;

export function defineEvent<TType extends string, TSchema extends z.ZodType>(
  def: EventDefinition<TType, TSchema>,
): EventDefinition<TType, TSchema> {
  return def;
}

/** Why an event cannot be accepted: it goes to the dead-letter topic with this reason. */
export class EventValidationError extends Error {
  readonly code = 'event_invalid';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
    this.name = 'EventValidationError';
  }
}

function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

export class EventCatalog {
  private readonly byKey = new Map<string, EventDefinition>();

  constructor(definitions: readonly EventDefinition[]) {
    for (const def of definitions) {
      const k = EventCatalog.keyOf(def.type, def.version);
      if (this.byKey.has(k)) throw new Error(`Event ${k} is defined twice`);
      this.byKey.set(k, def);
    }
  }

  static keyOf(type: string, version: number): string {
    return `${type}@v${version}`;
  }

  definitions(): EventDefinition[] {
    return [...this.byKey.values()];
  }

  find(type: string, version: number): EventDefinition | undefined {
    return this.byKey.get(EventCatalog.keyOf(type, version));
  }

  /**
   * Builds a validated envelope for a payload (throws EventValidationError on a bad payload). Every string of the
   * payload is made storable first (`storableDeep`): the last line of defence, so no outbox insert can fail on content.
   */
  create<D extends EventDefinition>(
    def: D,
    payload: PayloadOf<D>,
    context: { correlationId?: string; traceparent?: string; occurredAt?: Date; id?: string } = {},
  ): EventEnvelope<PayloadOf<D>> {
    const parsed = def.payload.safeParse(storableDeep(payload));
    if (!parsed.success) {
      throw new EventValidationError(
        `Payload of ${EventCatalog.keyOf(def.type, def.version)} is invalid`,
        describeIssues(parsed.error),
      );
    }
    const data = parsed.data as PayloadOf<D>;
    const locationId = def.locationId?.(data);
    // The envelope schema's one rule a payload can break: what is built here is not parsed again (the outbox's JSON).
    const key = def.key(data);
    if (!key) {
      throw new EventValidationError(`Envelope of ${EventCatalog.keyOf(def.type, def.version)} is invalid`, [
        'key: must not be empty',
      ]);
    }
    return {
      id: context.id ?? randomUUID(),
      type: def.type,
      version: def.version,
      occurredAt: (context.occurredAt ?? new Date()).toISOString(),
      key,
      ...(locationId ? { locationId } : {}),
      payload: data,
      ...(context.correlationId ? { correlationId: context.correlationId } : {}),
      ...(context.traceparent ? { traceparent: context.traceparent } : {}),
    };
  }

  /**
   * Validates an envelope and its payload (on publish and on consume).
   * Unknown types are rejected: a consumer must not guess at a schema it does not know.
   */
  parse(raw: unknown, expectedTopic?: string): EventEnvelope {
    const env = eventEnvelopeSchema.safeParse(raw);
    if (!env.success) {
      throw new EventValidationError('Envelope is invalid', describeIssues(env.error));
    }
    const def = this.find(env.data.type, env.data.version);
    if (!def) {
      throw new EventValidationError(`Unknown event ${EventCatalog.keyOf(env.data.type, env.data.version)}`);
    }
    if (expectedTopic && def.topic !== expectedTopic) {
      throw new EventValidationError(
        `Event ${EventCatalog.keyOf(def.type, def.version)} belongs on ${def.topic}, not ${expectedTopic}`,
      );
    }
    const payload = def.payload.safeParse(env.data.payload);
    if (!payload.success) {
      throw new EventValidationError(
        `Payload of ${EventCatalog.keyOf(def.type, def.version)} is invalid`,
        describeIssues(payload.error),
      );
    }
    return { ...env.data, payload: payload.data };
  }

  /** Parses bytes off the wire (Kafka value or in-process serialized form). */
  deserialize(bytes: Buffer | string | null | undefined, expectedTopic?: string): EventEnvelope {
    if (bytes === null || bytes === undefined) throw new EventValidationError('Event has no value');
    let raw: unknown;
    try {
      raw = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
    } catch {
      throw new EventValidationError('Event value is not JSON');
    }
    return this.parse(raw, expectedTopic);
  }

  serialize(envelope: EventEnvelope): string {
    return JSON.stringify(envelope);
  }

  /** Narrows a parsed envelope to a definition's payload type. */
  is<D extends EventDefinition>(envelope: EventEnvelope, def: D): envelope is EventEnvelope<PayloadOf<D>> {
    return envelope.type === def.type && envelope.version === def.version;
  }
}
