// The probe's Kafka request counters (tools/bench/probe.cjs), as the bench prints them.

/** Requests a process sent, by Kafka API name (`Fetch`, `Produce`, …). */
export type KafkaRequestCounts = Record<string, number>;

/**
 * One line per process that sent requests between two readings of the probe (by pid): `name: total (API n, …)`,
 * each count divided by `per` (seconds for a rate, messages for a cost per message), most frequent API first.
 */
export function kafkaRequestLines(
  before: ReadonlyMap<number, { readonly kafka?: KafkaRequestCounts }>,
  after: ReadonlyMap<number, { readonly kafka?: KafkaRequestCounts }>,
  names: ReadonlyMap<number, string>,
  per: number,
  digits: number,
): string[] {
  const lines: string[] = [];
  for (const [pid, file] of after) {
    const b = before.get(pid)?.kafka ?? {};
    const deltas = Object.entries(file.kafka ?? {})
      .map(([api, n]) => [api, n - (b[api] ?? 0)] as const)
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1]);
    if (deltas.length === 0) continue;
    const total = deltas.reduce((a, [, n]) => a + n, 0);
    const apis = deltas.map(([api, n]) => `${api} ${(n / per).toFixed(digits)}`).join(', ');
    lines.push(`${names.get(pid) ?? pid}: ${(total / per).toFixed(digits)} (${apis})`);
  }
  return lines;
}
