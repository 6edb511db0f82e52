// Writes docs/asyncapi.yaml from the event catalog (run: npm run docs:asyncapi). A test fails when it is stale.
// The catalog gives channels and payloads (libs/contracts); this adds what the wire carries around them, as the Kafka
// bus writes it (libs/platform/messaging): the servers, the message key and headers, and the dead-letter topics.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { ALL_TOPICS, buildAsyncApiDocument, dlqTopic, eventCatalog } from '@mailbridge/contracts';

export const ASYNCAPI_PATH = path.join(__dirname, '..', 'docs', 'asyncapi.yaml');

const KAFKA_BINDING_VERSION = '0.5.0';

/** Headers the bus sets on every event (KafkaEventBus.publish). */
const EVENT_HEADERS = {
  type: 'object',
  required: ['type', 'version'],
  properties: {
    type: { type: 'string', description: 'The event type (the envelope `type`), e.g. message.observed' },
    version: {
      type: 'string',
      pattern: '^[0-9]+$',
      description: 'The event version (the envelope `version`)',
    },
    'correlation-id': { type: 'string', description: 'The envelope `correlationId`, when set' },
    traceparent: {
      type: 'string',
      pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
      description: 'W3C trace context of the request that caused the event, when any',
    },
    'x-dlq-replayed-from': {
      type: 'string',
      description: 'Set on an event replayed from its dead-letter topic by bin/dlq-admin.cjs',
    },
  },
};

/** Headers a dead letter carries besides the original ones (DeadLetterHeaders of the messaging lib). */
const DEAD_LETTER_HEADERS = {
  type: 'object',
  required: ['x-dlq-original-topic', 'x-dlq-group', 'x-dlq-failed-at'],
  properties: {
    ...EVENT_HEADERS.properties,
    'x-dlq-reason': { type: 'string', description: 'Why the consumer gave up' },
    'x-dlq-error-code': { type: 'string' },
    'x-dlq-original-topic': { type: 'string' },
    'x-dlq-original-partition': { type: 'string', pattern: '^[0-9]+$' },
    'x-dlq-original-offset': { type: 'string', pattern: '^[0-9]+$' },
    'x-dlq-group': { type: 'string', description: 'The consumer group that dead-lettered it' },
    'x-dlq-attempts': { type: 'string', pattern: '^[0-9]+$' },
    'x-dlq-failed-at': { type: 'string', description: 'ISO 8601 time' },
  },
};

const MESSAGE_KEY = {
  type: 'string',
  description:
    'The envelope `key` (e.g. a mailbox or conversation id): events of one key go to one partition, in order.',
};

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The catalog's document with servers, Kafka bindings (topic, key) and headers, plus the dead-letter topics. */
export function buildWireAsyncApi(version: string): Json {
  const doc = buildAsyncApiDocument(eventCatalog, version) as Json;
  const servers = {
    kafka: {
      host: '{brokers}',
      protocol: 'kafka',
      description: 'The Kafka cluster of KAFKA_BROKERS (plaintext).',
      variables: { brokers: { default: 'localhost:9092', description: 'host:port of a bootstrap server' } },
    },
    'kafka-secure': {
      host: '{brokers}',
      protocol: 'kafka-secure',
      description:
        'The same cluster with KAFKA_SSL=true (TLS), optionally with SASL (KAFKA_SASL_MECHANISM plain, scram-sha-256 or ' +
        'scram-sha-512; KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD).',
      variables: { brokers: { default: 'kafka:9093', description: 'host:port of a bootstrap server' } },
    },
  };
  const serverRefs = Object.keys(servers).map((s) => ({ $ref: `#/servers/${s}` }));
  for (const channel of Object.values<Json>(doc.channels)) {
    channel.servers = serverRefs;
    channel.bindings = { kafka: { topic: channel.address, bindingVersion: KAFKA_BINDING_VERSION } };
  }
  for (const message of Object.values<Json>(doc.components.messages)) {
    message.headers = EVENT_HEADERS;
    message.correlationId = {
      description: 'The request or flow the event belongs to',
      location: '$message.header#/correlation-id',
    };
    message.bindings = { kafka: { key: MESSAGE_KEY, bindingVersion: KAFKA_BINDING_VERSION } };
  }
  doc.components.messages['dead-letter'] = {
    name: 'dead-letter',
    title: 'Dead letter',
    summary: 'An event a consumer gave up on, as it was received, with the x-dlq-* headers added.',
    contentType: 'application/json',
    headers: DEAD_LETTER_HEADERS,
    payload: { type: 'object', description: 'The original event envelope, unchanged' },
    bindings: { kafka: { key: MESSAGE_KEY, bindingVersion: KAFKA_BINDING_VERSION } },
  };
  for (const topic of ALL_TOPICS) {
    const id = `${dlqTopic(topic).replace(/\./g, '-')}`;
    doc.channels[id] = {
      address: dlqTopic(topic),
      description: `Dead letters of ${topic} (replay: bin/dlq-admin.cjs, docs/deploy.md).`,
      servers: serverRefs,
      messages: { 'dead-letter': { $ref: '#/components/messages/dead-letter' } },
      bindings: { kafka: { topic: dlqTopic(topic), bindingVersion: KAFKA_BINDING_VERSION } },
    };
  }
  return { ...doc, servers };
}

export function renderAsyncApi(): string {
  const version = (
    JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
  ).version;
  return `# Generated from libs/contracts by \`npm run docs:asyncapi\`. Do not edit by hand.\n${stringify(
    buildWireAsyncApi(version),
    { aliasDuplicateObjects: false },
  )}`;
}

if (require.main === module) {
  fs.mkdirSync(path.dirname(ASYNCAPI_PATH), { recursive: true });
  fs.writeFileSync(ASYNCAPI_PATH, renderAsyncApi());
  process.stdout.write(`wrote ${path.relative(process.cwd(), ASYNCAPI_PATH)}\n`);
}
