// Issue 16: where a burst message waits. Each consumer's `mailbridge_event_age_seconds` histogram (age since the
// envelope's occurredAt when handled), read from every service's /metrics before and after the burst; the
// difference of the two readings is the burst's alone. Quantiles are interpolated inside the histogram's buckets.

type Buckets = Map<string, Map<number, number>>; // series (topic/group) -> upper bound -> cumulative count

/** The buckets of histogram `metric` in one or more /metrics texts, by `group <- topic` (or else by provider). */
export function ageBuckets(texts: readonly string[], metric = 'mailbridge_event_age_seconds'): Buckets {
  const bucket = new RegExp(`^${metric}_bucket\\{([^}]*)\\}\\s+(\\S+)`);
  const out: Buckets = new Map();
  for (const text of texts)
    for (const line of text.split('\n')) {
      const m = bucket.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
      const series = labels.group ? `${labels.group} <- ${labels.topic}` : (labels.provider ?? metric);
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      const buckets = out.get(series) ?? new Map<number, number>();
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
      out.set(series, buckets);
    }
  return out;
}

/** Quantile q in (0, 1] of cumulative buckets, linear within a bucket; the last finite bound for +Inf. */
export function bucketQuantile(buckets: ReadonlyMap<number, number>, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const count = buckets.get(le) ?? 0;
    if (count >= rank) {
      if (le === Infinity) return lower;
      return count === below ? le : lower + ((le - lower) * (rank - below)) / (count - below);
    }
    lower = le;
    below = count;
  }
  return lower;
}

export interface AgeRow {
  readonly series: string;
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
}

/** Per consumer: events handled between the two readings, and their age's median and 99th percentile. */
export function ageRows(before: Buckets, after: Buckets): AgeRow[] {
  const rows: AgeRow[] = [];
  for (const [series, buckets] of after) {
    const delta = new Map<number, number>();
    for (const [le, count] of buckets) delta.set(le, count - (before.get(series)?.get(le) ?? 0));
    const count = delta.get(Infinity) ?? 0;
    if (count > 0)
      rows.push({ series, count, p50: bucketQuantile(delta, 0.5), p99: bucketQuantile(delta, 0.99) });
  }
  return rows.sort((a, b) => a.p50 - b.p50);
}

/** Every service's /metrics text (a service that does not answer is left out). */
export async function scrapeMetrics(urls: readonly string[]): Promise<string[]> {
  const texts = await Promise.all(
    urls.map(async (url) => {
      const res = await fetch(`${url}/metrics`).catch(() => undefined);
      return res?.ok ? res.text() : '';
    }),
  );
  return texts;
}
