import fs from 'node:fs';
import path from 'node:path';
import { eventCatalog } from './catalog';
import { EventCatalog, EventDefinition, EventValidationError } from './event-catalog';
import { contactUpsertedV1 } from './events/contacts.events';
import { SKIP_REASONS } from './events/sync.events';
import { ALL_TOPICS, ALL_TOPICS_WITH_DLQ, Topics, dlqTopic } from './topics';

const examplesDir = path.join(__dirname, 'examples');
const examples = fs
  .readdirSync(examplesDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    file: f,
    json: JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8')) as Record<string, unknown>,
  }));

describe('event catalog', () => {
  const contact = {
    locationId: 'loc_1',
    contactId: 'c_1',
    email: 'a@b.co',
    name: null,
    assignedUserId: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    revision: 1,
  };

  it.each(examples)('golden example $file still parses, under its own topic and key', ({ file, json }) => {
    const envelope = eventCatalog.parse(json);
    const def = eventCatalog.find(envelope.type, envelope.version)!;
    expect(file).toBe(`${envelope.type}.v${envelope.version}.json`);
    expect(def.key(envelope.payload as never)).toBe(envelope.key);
    expect(eventCatalog.parse(json, def.topic)).toEqual(envelope);
  });

  it('every event type and version has a golden example', () => {
    const withExamples = new Set(examples.map((e) => `${e.json.type}@v${e.json.version}`));
    const missing = eventCatalog
      .definitions()
      .map((d) => EventCatalog.keyOf(d.type, d.version))
      .filter((k) => !withExamples.has(k));
    expect(missing).toEqual([]);
  });

  it('builds envelopes with id, time, key and location from the payload', () => {
    const env = eventCatalog.create(contactUpsertedV1, contact, { correlationId: 'corr-1' });
    expect(env).toMatchObject({
      type: 'contact.upserted',
      version: 1,
      key: 'loc_1:c_1',
      locationId: 'loc_1',
      correlationId: 'corr-1',
    });
    expect(eventCatalog.parse(JSON.parse(eventCatalog.serialize(env)))).toEqual(env);
  });

  it('refuses to build an envelope with an empty key (what it builds is not parsed again on publish)', () => {
    const emptyKey = { ...contactUpsertedV1, key: () => '' } as unknown as EventDefinition;
    expect(() => new EventCatalog([emptyKey]).create(emptyKey, contact)).toThrow(EventValidationError);
    expect(() => new EventCatalog([emptyKey]).create(emptyKey, contact)).toThrow(
      /Envelope of contact.upserted@v1/,
    );
  });

  it('rejects an invalid payload, an unknown type, the wrong topic and non-JSON bytes', () => {
    const good = examples.find((e) => e.json.type === 'contact.upserted')!.json;
    const badPayload = { ...good, payload: { ...(good.payload as object), email: 'nope' } };
    expect(() => eventCatalog.parse(badPayload)).toThrow(EventValidationError);
    expect(() => eventCatalog.parse(badPayload)).toThrow(/contact.upserted@v1 is invalid/);
    expect(() => eventCatalog.parse({ ...good, type: 'contact.renamed' })).toThrow(
      'Unknown event contact.renamed@v1',
    );
    expect(() => eventCatalog.parse({ ...good, version: 2 })).toThrow('Unknown event contact.upserted@v2');
    expect(() => eventCatalog.parse(good, Topics.mailObserved)).toThrow(
      /belongs on conversations.contacts.v1/,
    );
    expect(() => eventCatalog.deserialize(Buffer.from('{oops'))).toThrow('Event value is not JSON');
    expect(() => eventCatalog.parse({ ...good, id: 'not-a-uuid' })).toThrow('Envelope is invalid');
  });
});

describe('topic registry', () => {
  it('names every topic <domain>.<stream>.v<major>, once, each with a .dlq twin', () => {
    for (const t of ALL_TOPICS) expect(t).toMatch(/^[a-z]+\.[a-z-]+\.v\d+$/);
    expect(new Set(ALL_TOPICS).size).toBe(ALL_TOPICS.length);
    expect(ALL_TOPICS_WITH_DLQ).toHaveLength(ALL_TOPICS.length * 2);
    expect(dlqTopic(Topics.mailObserved)).toBe('mail.observed.v1.dlq');
  });

  it('every event travels on a registered topic', () => {
    for (const d of eventCatalog.definitions()) expect(ALL_TOPICS).toContain(d.topic);
  });
});

describe('message.skipped reasons', () => {
  const example = JSON.parse(fs.readFileSync(path.join(examplesDir, 'message.skipped.v1.json'), 'utf8')) as {
    payload: Record<string, unknown>;
  };

  it('are a closed list: a reason outside SKIP_REASONS is refused', () => {
    const withReason = (reason: string) => ({ ...example, payload: { ...example.payload, reason } });
    for (const reason of SKIP_REASONS) expect(() => eventCatalog.parse(withReason(reason))).not.toThrow();
    expect(() => eventCatalog.parse(withReason('some_new_reason'))).toThrow(EventValidationError);
  });
});
