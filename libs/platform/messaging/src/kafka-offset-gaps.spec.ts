import { OffsetGaps, reportGap } from './kafka-offset-gaps';

describe('OffsetGaps: records a group never received', () => {
  it('sees none while the offsets follow each other from the committed one', () => {
    const gaps = new OffsetGaps();
    gaps.assign([{ topic: 't', partitions: [0] }]);
    expect(gaps.committed('t', 0, 10n)).toBeUndefined();
    for (let o = 10n; o < 15n; o++) expect(gaps.received('t', 0, o)).toBeUndefined();
  });

  it('reports the records between the committed offset and the first one received (removed by retention)', () => {
    const gaps = new OffsetGaps();
    gaps.assign([{ topic: 't', partitions: [1] }]);
    expect(gaps.committed('t', 1, 10n)).toBeUndefined();
    expect(gaps.received('t', 1, 122n)).toEqual({ topic: 't', partition: 1, from: 10n, to: 122n });
    expect(gaps.received('t', 1, 123n)).toBeUndefined();
  });

  it('checks the first record against the committed offset when the records came before it', () => {
    const gaps = new OffsetGaps();
    gaps.assign([{ topic: 't', partitions: [0] }]);
    expect(gaps.received('t', 0, 50n)).toBeUndefined();
    expect(gaps.received('t', 0, 51n)).toBeUndefined();
    expect(gaps.committed('t', 0, 7n)).toEqual({ topic: 't', partition: 0, from: 7n, to: 50n });
    // A later answer (a second read) changes nothing.
    expect(gaps.committed('t', 0, 7n)).toBeUndefined();

    const fine = new OffsetGaps();
    fine.assign([{ topic: 't', partitions: [0] }]);
    fine.received('t', 0, 7n);
    expect(fine.committed('t', 0, 7n)).toBeUndefined();
  });

  it('reports a jump while consuming (the position fell below the log start mid-stream)', () => {
    const gaps = new OffsetGaps();
    gaps.assign([{ topic: 't', partitions: [0] }]);
    gaps.committed('t', 0, 0n);
    expect(gaps.received('t', 0, 0n)).toBeUndefined();
    expect(gaps.received('t', 0, 1n)).toBeUndefined();
    expect(gaps.received('t', 0, 300n)).toEqual({ topic: 't', partition: 0, from: 2n, to: 300n });
  });

  it('has nothing to say for a group that never committed (it starts at the log start)', () => {
    const gaps = new OffsetGaps();
    gaps.assign([{ topic: 't', partitions: [0] }]);
    expect(gaps.committed('t', 0, -1n)).toBeUndefined();
    expect(gaps.received('t', 0, 500n)).toBeUndefined();
    expect(gaps.received('t', 0, 501n)).toBeUndefined();
  });

  it('keeps a partition kept across a rebalance, starts over for one assigned again, and after a reset', () => {
    const gaps = new OffsetGaps();
    gaps.assign([{ topic: 't', partitions: [0] }]);
    gaps.committed('t', 0, 0n);
    gaps.received('t', 0, 0n);
    // Kept across a rebalance: nothing to read again, and it goes on where it was.
    expect(gaps.assign([{ topic: 't', partitions: [0, 1] }])).toEqual([{ topic: 't', partitions: [1] }]);
    expect(gaps.received('t', 0, 3n)).toEqual({ topic: 't', partition: 0, from: 1n, to: 3n });
    // Taken away, then assigned again: what was due before is forgotten.
    expect(gaps.assign([{ topic: 't', partitions: [1] }])).toEqual([]);
    expect(gaps.received('t', 0, 40n)).toBeUndefined();
    expect(gaps.assign([{ topic: 't', partitions: [0, 1] }])).toEqual([{ topic: 't', partitions: [0] }]);
    expect(gaps.committed('t', 0, 90n)).toBeUndefined();
    expect(gaps.received('t', 0, 90n)).toBeUndefined();
    // Partitions are tracked apart.
    gaps.committed('t', 1, 5n);
    expect(gaps.received('t', 1, 6n)).toEqual({ topic: 't', partition: 1, from: 5n, to: 6n });
    // A replaced consumer reads every committed offset again.
    gaps.reset();
    expect(gaps.assign([{ topic: 't', partitions: [0, 1] }])).toEqual([{ topic: 't', partitions: [0, 1] }]);
  });
});

describe('reportGap: a gap is a loss only where the log no longer has the records', () => {
  const run = (logStart: bigint, readers: Array<{ group: string; floor: bigint }>) => {
    const lost: Array<[string, number]> = [];
    const errors: Array<Record<string, unknown>> = [];
    const total = reportGap(
      { topic: 'mail.observed.v1', partition: 2, from: 10n, to: 132n },
      logStart,
      { groupId: 'conversations', readers },
      {
        metrics: { lost: (_topic: string, group: string, count: number) => void lost.push([group, count]) },
        logger: { error: (fields: Record<string, unknown>) => void errors.push(fields) } as never,
      },
    );
    return { total, lost, errors };
  };
  const two = [
    { group: 'conversations.a', floor: -1n },
    { group: 'conversations.b', floor: -1n },
  ];

  it('counts the records below the log start for every consumer reading the topic, and logs them as an error', () => {
    const { total, lost, errors } = run(132n, two);
    expect(total).toBe(244);
    expect(lost).toEqual([
      ['conversations.a', 122],
      ['conversations.b', 122],
    ]);
    expect(errors).toEqual([
      expect.objectContaining({
        topic: 'mail.observed.v1',
        partition: 2,
        fromOffset: '10',
        toOffset: '132',
        count: 122,
      }),
    ]);
  });

  it('says nothing when the log still has them (another member committed further: not a loss)', () => {
    expect(run(0n, two)).toEqual({ total: 0, lost: [], errors: [] });
    expect(run(10n, two)).toEqual({ total: 0, lost: [], errors: [] });
  });

  it('counts only up to the log start, and for each consumer from its floor (what its former group had handled)', () => {
    const { lost, errors } = run(50n, [
      { group: 'conversations.a', floor: -1n },
      { group: 'conversations.b', floor: 30n },
      { group: 'conversations.c', floor: 60n },
    ]);
    expect(lost).toEqual([
      ['conversations.a', 40],
      ['conversations.b', 20],
    ]);
    expect(errors).toEqual([expect.objectContaining({ toOffset: '50', count: 40 })]);
  });
});
