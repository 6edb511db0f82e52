import { counterTotal, cpuPercent, waitUntilQuiet } from './quiescence';

/** A fake clock and a platform whose CPU use per window is scripted: no real time passes. */
function scripted(perWindowMs: number[]) {
  let now = 0;
  let cpu = 0;
  let i = 0;
  return {
    clock: {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
        cpu += perWindowMs[Math.min(i++, perWindowMs.length - 1)];
      },
    },
    sample: async () => [{ name: 'svc', pid: 1, cpuMs: cpu }],
  };
}

describe('waitUntilQuiet', () => {
  const o = { thresholdPercent: 10, windowMs: 1_000, windows: 2, maxMs: 10_000 };

  it('waits through busy windows until two consecutive quiet ones', async () => {
    const p = scripted([800, 50, 400, 30, 20, 900]);
    const r = await waitUntilQuiet(p.sample, p.clock, o);
    expect(r.quiet).toBe(true);
    expect(r.windowPercents).toEqual([80, 5, 40, 3, 2]);
    expect(r.waitedMs).toBe(5_000);
    expect(r.cpuMs).toBe(1_300);
    expect(r.idleMsPerSecond).toEqual([['svc', 25]]);
  });

  it('gives up at the bound and says so', async () => {
    const p = scripted([500]);
    const r = await waitUntilQuiet(p.sample, p.clock, o);
    expect(r.quiet).toBe(false);
    expect(r.waitedMs).toBe(10_000);
    expect(r.windowPercents).toHaveLength(10);
  });
});

describe('cpuPercent', () => {
  it('sums the processes present in both samples, as a share of one core', () => {
    const before = [
      { name: 'a', pid: 1, cpuMs: 100 },
      { name: 'b', pid: 2, cpuMs: 50 },
    ];
    const after = [
      { name: 'a', pid: 1, cpuMs: 300 },
      { name: 'b', pid: 2, cpuMs: 150 },
      { name: 'c', pid: 3, cpuMs: 9_999 },
    ];
    expect(cpuPercent(before, after, 1_000)).toBe(30);
  });
});

describe('counterTotal', () => {
  it('sums every label set of the counter, and no other metric', () => {
    const text = [
      '# HELP mail_gateway_audits_total Completeness audits',
      '# TYPE mail_gateway_audits_total counter',
      'mail_gateway_audits_total{status="complete"} 120',
      'mail_gateway_audits_total{status="healing"} 3',
      'mail_gateway_audits_total_created 5',
      'mail_gateway_audit_seconds_count 123',
    ].join('\n');
    expect(counterTotal(text, 'mail_gateway_audits_total')).toBe(123);
    expect(counterTotal(text, 'absent_total')).toBe(0);
  });
});
