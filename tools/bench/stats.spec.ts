import {
  cpuBetween,
  cpuTicksOfStat,
  IdleMemory,
  idleMemoryFigure,
  idleMemoryPerMailbox,
  kbDelta,
  percentile,
  rssKbOfStatus,
  sandboxCeilingLine,
  summaryLine,
  visibleLatencies,
  wasmRssKbOfSmaps,
} from './stats';
import { baselineIdleMailboxes } from './idle-memory';

describe('percentile (nearest rank)', () => {
  it('picks the value at rank ceil(p/100 * n) of the sorted values', () => {
    const values = [9, 1, 8, 2, 7, 3, 6, 4, 5, 10];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([42], 99)).toBe(42);
    // Rounded up, never to the nearest: 5.1 → the 6th value, 1.4 → the 2nd.
    expect(percentile(values, 51)).toBe(6);
    expect(percentile([4, 3, 2, 1], 35)).toBe(2);
  });

  it('p99 of 1,000 values is the 990th smallest, not the maximum', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(percentile(values, 99)).toBe(990);
  });

  it('is NaN for no values and refuses a p outside [0, 100]', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('/proc parsing', () => {
  it('adds utime and stime (fields 14 and 15), even when the command name holds spaces and parentheses', () => {
    const stat =
      '4242 (node (mail) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 11 0 5000 1000000 2000 ' +
      '18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0';
    expect(cpuTicksOfStat(stat)).toBe(1234 + 567);
  });

  it('refuses a line that is not a stat line', () => {
    expect(() => cpuTicksOfStat('no parentheses here')).toThrow();
  });

  it('reads VmRSS in KiB, 0 when absent', () => {
    expect(rssKbOfStatus('Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t  123456 kB\nThreads: 11\n')).toBe(123456);
    expect(rssKbOfStatus('Name:\tzombie\nState:\tZ\n')).toBe(0);
  });
});

describe('wasmRssKbOfSmaps', () => {
  const region = (range: string, perms: string, rss: number, name = '') =>
    `${range} ${perms} 00000000 00:00 0 ${name}\nSize: 1 kB\nRss:  ${rss} kB\nVmFlags: rd wr mr mw me ac\n`;
  it('counts the committed part of a wasm memory (read-write, then a no-access rest of a >= 4 GiB reservation)', () => {
    const smaps =
      region('7f0000000000-7f0008000000', 'rw-p', 100) + // 128 MiB committed …
      region('7f0008000000-7f0200000000', '---p', 0) + // … + the rest: 8 GiB reserved
      region('7f0200000000-7f0200040000', 'rw-p', 256) + // a V8 page, no reservation after it
      region('7f0200040000-7f0200080000', '---p', 0) +
      region('7f0300000000-7f0304000000', 'rw-p', 64, '[heap]');
    expect(wasmRssKbOfSmaps(smaps)).toBe(100);
    expect(wasmRssKbOfSmaps('')).toBe(0);
  });
});

describe('cpuBetween (CPU accounting per process)', () => {
  it('sums the deltas of every pid of a name and divides by the messages', () => {
    const use = cpuBetween(
      [
        { name: 'sync-engine', pid: 1, cpuMs: 1_000 },
        { name: 'postgres backends', pid: 2, cpuMs: 50 },
        { name: 'postgres backends', pid: 3, cpuMs: 70 },
      ],
      [
        { name: 'sync-engine', pid: 1, cpuMs: 1_400 },
        { name: 'postgres backends', pid: 2, cpuMs: 150 },
        { name: 'postgres backends', pid: 3, cpuMs: 90 },
      ],
      200,
    );
    expect(use).toEqual([
      { name: 'sync-engine', cpuMs: 400, perMessageMs: 2 },
      { name: 'postgres backends', cpuMs: 120, perMessageMs: 0.6 },
    ]);
  });

  it('counts all of a process that started in between, nothing of one that vanished or of a reused pid', () => {
    const use = cpuBetween(
      [
        { name: 'gone', pid: 7, cpuMs: 500 },
        { name: 'reused', pid: 8, cpuMs: 900 },
      ],
      [
        { name: 'new backend', pid: 9, cpuMs: 30 },
        { name: 'reused', pid: 8, cpuMs: 10 },
      ],
      10,
    );
    expect(use).toEqual([{ name: 'new backend', cpuMs: 30, perMessageMs: 3 }]);
  });
});

describe('visibleLatencies', () => {
  it('reads the k-th injected message of a contact as visible at the first poll showing k more of its messages', () => {
    const injected = new Map([
      ['a', [1_000, 2_000, 3_000]],
      ['b', [1_500]],
    ]);
    const polls = [
      { at: 1_800, counts: new Map([['a', 5]]) }, // a had 5 before: nothing new yet
      {
        at: 2_500,
        counts: new Map([
          ['a', 7],
          ['b', 1],
        ]),
      }, // a's 1st and 2nd, b's 1st
      {
        at: 4_000,
        counts: new Map([
          ['a', 8],
          ['b', 1],
        ]),
      }, // a's 3rd
    ];
    const { latencies, missing } = visibleLatencies(injected, polls, new Map([['a', 5]]));
    expect(missing).toBe(0);
    expect(latencies).toEqual([1_500, 500, 1_000, 1_000]);
  });

  it('counts the messages never seen', () => {
    const { latencies, missing } = visibleLatencies(
      new Map([['a', [0, 10, 20]]]),
      [{ at: 100, counts: new Map([['a', 1]]) }],
      new Map(),
    );
    expect(latencies).toEqual([100]);
    expect(missing).toBe(2);
  });
});

const memory = (m: { kbPerMailbox: number; noiseKbPerMailbox: number }): IdleMemory => ({
  ...m,
  belowNoise: m.kbPerMailbox <= m.noiseKbPerMailbox,
  beforeKib: 0,
  afterKib: 0,
  byProcess: [],
});

describe('memory per idle mailbox (issue 16)', () => {
  it('issue 16: sums each process median reading at both points, divides the delta by K, KiB to KB', () => {
    const before = new Map([
      ['identity-connections', [100_000, 100_400, 100_200]],
      ['mail-gateway', [200_000, 200_000, 200_100]],
    ]);
    const after = new Map([
      ['identity-connections', [110_000, 110_200, 110_100]],
      ['mail-gateway', [230_000, 230_000, 229_900]],
    ]);
    const m = idleMemoryPerMailbox(before, after, 1_000);
    expect(m.beforeKib).toBe(100_200 + 200_000);
    expect(m.afterKib).toBe(110_100 + 230_000);
    // (340,100 − 300,200) KiB × 1.024 / 1,000 mailboxes
    expect(m.kbPerMailbox).toBeCloseTo(40.8576, 6);
    expect(m.byProcess).toEqual([
      ['identity-connections', expect.closeTo(10.1376, 6)],
      ['mail-gateway', expect.closeTo(30.72, 6)],
    ]);
    // Spreads: 400 + 100 before, 200 + 100 after = 800 KiB over 1,000 mailboxes.
    expect(m.noiseKbPerMailbox).toBeCloseTo(0.8192, 6);
    expect(m.belowNoise).toBe(false);
    expect(idleMemoryFigure(m)).toBe('41 KB/mailbox');
  });

  it('issue 16: a delta within the noise is flagged, and a negative one never printed as negative', () => {
    const noisy = idleMemoryPerMailbox(
      new Map([['embedded', [500_000, 500_300, 499_800]]]),
      new Map([['embedded', [499_900, 500_200, 499_700]]]),
      100,
    );
    expect(noisy.kbPerMailbox).toBeCloseTo(-1.024, 6);
    expect(noisy.belowNoise).toBe(true);
    expect(idleMemoryFigure(noisy)).toBe('0.0 KB/mailbox (below the ±10.2 KB noise)');
    const small = idleMemoryPerMailbox(
      new Map([['embedded', [500_000, 500_300, 499_800]]]),
      new Map([['embedded', [500_400, 500_500, 500_300]]]),
      100,
    );
    expect(idleMemoryFigure(small)).toBe('4.1 KB/mailbox (below the ±7.2 KB noise)');
  });

  it('issue 16: the drift of the first point with nothing connected counts as noise', () => {
    const first = new Map([['embedded', [500_000, 500_100]]]);
    const drift = new Map([['embedded', [505_000, 505_100]]]);
    const after = new Map([['embedded', [508_000, 508_100]]]);
    const m = idleMemoryPerMailbox(first, after, 1_000, drift);
    // Delta 8,000 KiB; noise 100 + 100 spread + 5,000 drift.
    expect(m.kbPerMailbox).toBeCloseTo(8.192, 6);
    expect(m.noiseKbPerMailbox).toBeCloseTo(5.3248, 6);
    expect(m.belowNoise).toBe(false);
    expect(idleMemoryPerMailbox(first, after, 1_000, new Map([['embedded', [490_000]]])).belowNoise).toBe(
      true,
    );
    expect([kbDelta(-81), kbDelta(3.25)]).toEqual(['fell 81.0', '3.3']);
  });

  it('issue 16: a process present at one point only counts as 0 at the other; K must be positive', () => {
    const m = idleMemoryPerMailbox(
      new Map([['a', [10]]]),
      new Map([
        ['a', [10]],
        ['b', [1_000]],
      ]),
      10,
    );
    expect(m.kbPerMailbox).toBeCloseTo(102.4, 6);
    expect(() => idleMemoryPerMailbox(new Map(), new Map(), 0)).toThrow(RangeError);
  });

  it('issue 16: the baseline set is a tenth of K, at least 20, at most K', () => {
    expect(baselineIdleMailboxes(10_000)).toBe(1_000);
    expect(baselineIdleMailboxes(100)).toBe(20);
    expect(baselineIdleMailboxes(2_000)).toBe(200);
    expect(baselineIdleMailboxes(10)).toBe(10);
  });
});

describe('summaryLine', () => {
  it('prints the exact format of the issue', () => {
    expect(
      summaryLine({
        mode: 'embedded',
        sustainedPerSecond: 812.4,
        p50Seconds: 0.61,
        p99Seconds: 2.08,
        cpuMsPerMessage: 1.94,
        idleMemory: memory({ kbPerMailbox: 41.2, noiseKbPerMailbox: 2 }),
        rawPgRowsPerSecond: 7_385,
      }),
    ).toBe(
      'bench embedded: 812 msg/s sustained, p50 0.6 s, p99 2.1 s, 1.9 cpu-ms/msg, 41 KB/mailbox, 0.11 of raw pg',
    );
  });

  it('keeps one significant digit of a ratio below 0.01 instead of printing 0.00', () => {
    expect(
      summaryLine({
        mode: 'distributed',
        sustainedPerSecond: 30,
        p50Seconds: 1,
        p99Seconds: 3,
        cpuMsPerMessage: 25,
        idleMemory: memory({ kbPerMailbox: 80, noiseKbPerMailbox: 1 }),
        rawPgRowsPerSecond: 19_000,
      }),
    ).toBe(
      'bench distributed: 30 msg/s sustained, p50 1.0 s, p99 3.0 s, 25.0 cpu-ms/msg, 80 KB/mailbox, 0.002 of raw pg',
    );
  });
});

describe('sandboxCeilingLine (issue 16: the sandbox measured in the same run)', () => {
  it('gives the injection rate, the per-core ceiling from its CPU per burst message, and the get rate', () => {
    expect(
      sandboxCeilingLine('embedded', {
        messages: 2000,
        injectSeconds: 0.8,
        burstCpuMs: 1000,
        gets: { calls: 2000, seconds: 1.6, cpuMs: 400 },
      }),
    ).toBe(
      'embedded: sandbox ceiling: injection reached 2500 deliveries/s (0.8 s for 2000); 0.50 sandbox CPU-ms per ' +
        "burst message (deliveries, the platform's Gmail calls, pushes) = at most 2000 msg/s on its one core; " +
        'messages.get (raw) 1250/s with the bench alone (0.20 sandbox CPU-ms each)',
    );
  });

  it('leaves the get rate out when it was not measured', () => {
    expect(sandboxCeilingLine('distributed', { messages: 100, injectSeconds: 2, burstCpuMs: 300 })).toBe(
      'distributed: sandbox ceiling: injection reached 50 deliveries/s (2.0 s for 100); 3.00 sandbox CPU-ms per ' +
        "burst message (deliveries, the platform's Gmail calls, pushes) = at most 333 msg/s on its one core",
    );
  });
});
