import { z } from 'zod';
import { eventEnvelopeSchema } from './envelope';
import { EventCatalog } from './event-catalog';
import { ALL_TOPICS, dlqTopic } from './topics';

type JsonObject = Record<string, unknown>;

function toJsonSchema(schema: z.ZodType): JsonObject {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject;
  delete json['$schema'];
  return json;
}

const messageName = (type: string, version: number) => `${type.replace(/\./g, '-')}-v${version}`;

/**
 * The AsyncAPI 3 document of every topic and event, generated from the zod schemas so it cannot drift.
 * Written to docs/asyncapi.yaml by `npm run docs:asyncapi`; a test fails when the file is stale.
 */
export function buildAsyncApiDocument(catalog: EventCatalog, version: string): JsonObject {
  const channels: JsonObject = {};
  const operations: JsonObject = {};
  const messages: JsonObject = {};
  const envelope = toJsonSchema(eventEnvelopeSchema.omit({ payload: true }));

  for (const topic of ALL_TOPICS) {
    const defs = catalog.definitions().filter((d) => d.topic === topic);
    const channelId = topic.replace(/\./g, '-');
    const channelMessages: JsonObject = {};
    for (const def of defs) {
      const name = messageName(def.type, def.version);
      messages[name] = {
        name,
        title: `${def.type} v${def.version}`,
        summary: def.description,
        contentType: 'application/json',
        payload: {
          allOf: [
            envelope,
            {
              type: 'object',
              required: ['type', 'version', 'payload'],
              properties: {
                type: { const: def.type },
                version: { const: def.version },
                payload: toJsonSchema(def.payload),
              },
            },
          ],
        },
      };
      channelMessages[name] = { $ref: `#/components/messages/${name}` };
    }
    channels[channelId] = {
      address: topic,
      description: `Kafka topic ${topic}; dead letters go to ${dlqTopic(topic)}.`,
      messages: channelMessages,
    };
    operations[`consume-${channelId}`] = {
      action: 'receive',
      channel: { $ref: `#/channels/${channelId}` },
      summary: `Consume ${topic}`,
      messages: Object.keys(channelMessages).map((m) => ({ $ref: `#/channels/${channelId}/messages/${m}` })),
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Mailbridge events',
      version,
      description:
        'Events other internal services can consume. Every event is an envelope {id, type, version, occurredAt, locationId?, key, payload, traceparent?, correlationId?}; the key orders events that must stay in order. Delivery is at least once: deduplicate by id.',
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  };
}
