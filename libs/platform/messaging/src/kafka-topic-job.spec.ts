import { createMissingTopics, type TopicAdmin, type TopicSpec } from './kafka-topic-job';

class FakeAdmin implements TopicAdmin {
  readonly created: TopicSpec[][] = [];
  constructor(readonly topics: Set<string>) {}
  listTopics() {
    return Promise.resolve([...this.topics]);
  }
  createTopics(specs: readonly TopicSpec[]) {
    this.created.push([...specs]);
    for (const s of specs) this.topics.add(s.name);
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
}

const spec = (name: string, partitions = 3): TopicSpec => ({
  name,
  partitions,
  replicationFactor: 3,
  config: { 'retention.ms': '604800000' },
});

describe('createMissingTopics (the chart topic Job)', () => {
  it('creates only the missing topics, with their settings, and is idempotent', async () => {
    const admin = new FakeAdmin(new Set(['mail.send.v1', '__consumer_offsets']));
    const wanted = [spec('mail.send.v1', 12), spec('mail.send.v1.dlq'), spec('mail.observed.v1', 24)];
    expect(await createMissingTopics(admin, wanted)).toEqual({
      created: ['mail.send.v1.dlq', 'mail.observed.v1'],
      existing: ['mail.send.v1'],
    });
    expect(admin.created).toEqual([[spec('mail.send.v1.dlq'), spec('mail.observed.v1', 24)]]);
    expect(await createMissingTopics(admin, wanted)).toEqual({
      created: [],
      existing: ['mail.send.v1', 'mail.send.v1.dlq', 'mail.observed.v1'],
    });
    expect(admin.created).toHaveLength(1);
  });
});
