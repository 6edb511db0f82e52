import { KafkaRequestCounts, kafkaRequestLines } from './kafka-requests';

type Reading = { kafka?: KafkaRequestCounts };

describe('kafkaRequestLines', () => {
  it('prints each process its requests between two readings, per unit, most frequent API first', () => {
    const before = new Map<number, Reading>([
      [1, { kafka: { Fetch: 100, Heartbeat: 10 } }],
      [2, { kafka: { Fetch: 5 } }],
    ]);
    const after = new Map<number, Reading>([
      [1, { kafka: { Fetch: 400, Heartbeat: 16, Produce: 2 } }],
      [2, { kafka: { Fetch: 5 } }],
      [3, {}],
    ]);
    const names = new Map([[1, 'conversations']]);
    expect(kafkaRequestLines(before, after, names, 10, 1)).toEqual([
      'conversations: 30.8 (Fetch 30.0, Heartbeat 0.6, Produce 0.2)',
    ]);
  });

  it('counts everything of a process that was not read before', () => {
    expect(kafkaRequestLines(new Map(), new Map([[7, { kafka: { Metadata: 3 } }]]), new Map(), 1, 0)).toEqual(
      ['7: 3 (Metadata 3)'],
    );
  });
});
