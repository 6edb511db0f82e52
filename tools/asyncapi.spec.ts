import fs from 'node:fs';
import { Parser } from '@asyncapi/parser';
import { ALL_TOPICS_WITH_DLQ, eventCatalog } from '@mailbridge/contracts';
import { ASYNCAPI_PATH, renderAsyncApi } from './generate-asyncapi';

describe('docs/asyncapi.yaml', () => {
  it('is up to date with the event catalog (run `npm run docs:asyncapi` after changing an event)', () => {
    expect(fs.readFileSync(ASYNCAPI_PATH, 'utf8')).toBe(renderAsyncApi());
  });

  it('is a valid AsyncAPI document that lists every event', async () => {
    const { document, diagnostics } = await new Parser().parse(fs.readFileSync(ASYNCAPI_PATH, 'utf8'));
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((e) => `${e.path.join('.')}: ${e.message}`)).toEqual([]);
    const names = document!
      .allMessages()
      .all()
      .map((m) => m.name());
    for (const d of eventCatalog.definitions())
      expect(names).toContain(`${d.type.replace(/\./g, '-')}-v${d.version}`);
  });

  it('declares the servers, the Kafka topic and key bindings and the headers the bus writes', async () => {
    const { document } = await new Parser().parse(fs.readFileSync(ASYNCAPI_PATH, 'utf8'));
    const json = document!.json() as {
      servers: Record<string, { protocol: string }>;
      channels: Record<
        string,
        { address: string; bindings: { kafka: { topic: string } }; servers: unknown[] }
      >;
      components: {
        messages: Record<
          string,
          {
            headers: { properties: Record<string, unknown>; required: string[] };
            bindings: { kafka: { key: { type: string } } };
          }
        >;
      };
    };
    expect(
      Object.values(json.servers)
        .map((s) => s.protocol)
        .sort(),
    ).toEqual(['kafka', 'kafka-secure']);
    const addresses = Object.values(json.channels).map((c) => c.address);
    expect([...addresses].sort()).toEqual([...ALL_TOPICS_WITH_DLQ].sort());
    for (const channel of Object.values(json.channels)) {
      expect(channel.bindings.kafka.topic).toBe(channel.address);
      expect(channel.servers.length).toBe(2);
    }
    const messages = Object.entries(json.components.messages);
    expect(messages.length).toBeGreaterThan(eventCatalog.definitions().length);
    for (const [name, message] of messages) {
      expect({ name, key: message.bindings.kafka.key.type }).toEqual({ name, key: 'string' });
      expect(Object.keys(message.headers.properties)).toEqual(
        expect.arrayContaining(['type', 'version', 'correlation-id', 'traceparent']),
      );
    }
    // What the bus really writes (KafkaEventBus.publish): type and version always.
    expect(json.components.messages['message-observed-v1'].headers.required).toEqual(['type', 'version']);
    expect(json.components.messages['dead-letter'].headers.properties).toHaveProperty('x-dlq-original-topic');
  });
});
