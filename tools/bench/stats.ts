// Pure arithmetic of the end-to-end bench: percentiles, /proc parsing, CPU accounting and the report line.

/** Nearest-rank percentile (p in [0, 100]) of unsorted values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not in [0, 100]`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * utime + stime of `/proc/<pid>/stat`, in clock ticks. Fields 14 and 15 counted from 1; the command name (field 2)
 * is in parentheses and may itself hold spaces or parentheses, so the fields are counted after its last `)`.
 */
export function cpuTicksOfStat(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/); // fields[0] is field 3 (state)
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('no utime/stime in the stat line');
  return utime + stime;
}

/** `VmRSS` of `/proc/<pid>/status`, in KiB (0 when the process has none, e.g. a zombie). */
export function rssKbOfStatus(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) : 0;
}

export interface CpuSample {
  readonly name: string;
  readonly pid: number;
  /** Cumulative CPU of the process in ms. */
  readonly cpuMs: number;
}

export interface CpuUse {
  readonly name: string;
  readonly cpuMs: number;
  readonly perMessageMs: number;
}

/**
 * CPU spent by each process between two samples, per message. A process present only in the second sample started
 * in between: all its CPU counts. One that vanished is left out (its CPU is unknown), and so is a pid reused by
 * another process (its counter went down).
 */
export function cpuBetween(
  before: readonly CpuSample[],
  after: readonly CpuSample[],
  messages: number,
): CpuUse[] {
  const start = new Map(before.map((s) => [`${s.name}#${s.pid}`, s.cpuMs]));
  const byName = new Map<string, number>();
  for (const s of after) {
    const from = start.get(`${s.name}#${s.pid}`) ?? 0;
    if (s.cpuMs < from) continue;
    byName.set(s.name, (byName.get(s.name) ?? 0) + (s.cpuMs - from));
  }
  return [...byName].map(([name, cpuMs]) => ({
    name,
    cpuMs,
    perMessageMs: messages > 0 ? cpuMs / messages : Number.NaN,
  }));
}

export interface ModeSummary {
  readonly mode: string;
  readonly sustainedPerSecond: number;
  readonly p50Seconds: number;
  readonly p99Seconds: number;
  readonly cpuMsPerMessage: number;
  readonly kbPerMailbox: number;
  readonly rawPgRowsPerSecond: number;
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** `bench embedded: 812 msg/s sustained, p50 0.6 s, p99 2.1 s, 1.9 cpu-ms/msg, 41 KB/mailbox, 0.11 of raw pg` */
export function summaryLine(s: ModeSummary): string {
  const ratio = s.rawPgRowsPerSecond > 0 ? s.sustainedPerSecond / s.rawPgRowsPerSecond : Number.NaN;
  return (
    `bench ${s.mode}: ${fixed(s.sustainedPerSecond, 0)} msg/s sustained, ` +
    `p50 ${fixed(s.p50Seconds, 1)} s, p99 ${fixed(s.p99Seconds, 1)} s, ` +
    `${fixed(s.cpuMsPerMessage, 1)} cpu-ms/msg, ${fixed(s.kbPerMailbox, 0)} KB/mailbox, ` +
    `${ratio > 0 && ratio < 0.01 ? ratio.toPrecision(1) : fixed(ratio, 2)} of raw pg`
  );
}

/**
 * When each message became visible, from per-contact message counts read off the CRM API over time: the k-th message
 * injected for a contact is visible at the first poll where that contact shows k more messages than at the start.
 * `injected[c]` are the injection times of contact c's messages in order; `polls` are (time, counts) in time order.
 * Returns a latency (ms) per visible message and how many were never seen.
 */
export function visibleLatencies(
  injected: ReadonlyMap<string, readonly number[]>,
  polls: ReadonlyArray<{ at: number; counts: ReadonlyMap<string, number> }>,
  base: ReadonlyMap<string, number>,
): { latencies: number[]; missing: number } {
  const latencies: number[] = [];
  let missing = 0;
  for (const [contact, times] of injected) {
    let seen = 0;
    let poll = 0;
    for (const t of times) {
      const k = seen + 1;
      while (poll < polls.length && (polls[poll].counts.get(contact) ?? 0) - (base.get(contact) ?? 0) < k)
        poll++;
      if (poll === polls.length) {
        missing++;
        continue;
      }
      latencies.push(Math.max(0, polls[poll].at - t));
      seen = k;
    }
  }
  return { latencies, missing };
}
