import { ageBuckets, ageRows, bucketQuantile } from './event-age';

const text = (n1: number, n2: number, inf: number) =>
  [
    '# TYPE mailbridge_event_age_seconds histogram',
    `mailbridge_event_age_seconds_bucket{transport="kafka",topic="t",group="g",le="1"} ${n1}`,
    `mailbridge_event_age_seconds_bucket{transport="kafka",topic="t",group="g",le="2"} ${n2}`,
    `mailbridge_event_age_seconds_bucket{transport="kafka",topic="t",group="g",le="+Inf"} ${inf}`,
  ].join('\n');

describe('event age quantiles', () => {
  it('interpolates within the bucket that holds the rank', () => {
    const b = new Map([
      [1, 0],
      [2, 10],
      [Infinity, 10],
    ]);
    expect(bucketQuantile(b, 0.5)).toBeCloseTo(1.5);
    expect(bucketQuantile(b, 1)).toBe(2);
  });

  it('counts only what was handled between the two readings', () => {
    const rows = ageRows(ageBuckets([text(5, 5, 5)]), ageBuckets([text(5, 15, 15)]));
    expect(rows).toEqual([{ series: 'g <- t', count: 10, p50: 1.5, p99: expect.closeTo(1.99, 5) }]);
  });

  it('gives the last finite bound for ages beyond it', () => {
    expect(
      bucketQuantile(
        new Map([
          [1, 0],
          [Infinity, 4],
        ]),
        0.5,
      ),
    ).toBe(1);
  });
});

describe('other histograms', () => {
  it('reads the buckets of the metric named, by provider', () => {
    const text = [
      'mail_gateway_pull_seconds_bucket{le="1",provider="google",service="mail-gateway"} 3',
      'mail_gateway_pull_seconds_bucket{le="+Inf",provider="google",service="mail-gateway"} 4',
    ].join('\n');
    const rows = ageRows(new Map(), ageBuckets([text], 'mail_gateway_pull_seconds'));
    expect(rows.map((r) => [r.series, r.count])).toEqual([['google', 4]]);
  });
});
