// Pure arithmetic of the end-to-end bench: percentiles, /proc parsing, CPU and memory accounting, the report line.

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

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

/**
 * Resident KiB of the process's WebAssembly memories (PGlite's Postgres heap: shared buffers, caches), from
 * `/proc/<pid>/smaps`. V8 reserves each 64-bit wasm memory as one region of at least 4 GiB: the committed pages
 * (read-write) directly followed by the rest of the reservation (no access). Only such pairs count.
 */
export function wasmRssKbOfSmaps(smaps: string): number {
  const regions = [
    ...smaps.matchAll(/^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [^\n]*\n(?:(?![0-9a-f]+-)[^\n]*\n)*/gm),
  ].map((m) => ({
    start: BigInt(`0x${m[1]}`),
    end: BigInt(`0x${m[2]}`),
    perms: m[3],
    rssKib: Number(/^Rss:\s+(\d+) kB/m.exec(m[0])?.[1] ?? 0),
  }));
  let kib = 0;
  regions.forEach((r, i) => {
    const next = regions[i + 1];
    const reserved = next && next.start === r.end && next.perms === '---p' ? next.end - r.start : 0n;
    if (r.perms.startsWith('rw') && reserved >= 4n << 30n) kib += r.rssKib;
  });
  return kib;
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
  readonly idleMemory: IdleMemory;
  readonly rawPgRowsPerSecond: number;
}

/** RSS readings (KiB) per platform process at one idle point: several readings, each after a full collection. */
export type RssReadings = ReadonlyMap<string, readonly number[]>;

export interface IdleMemory {
  /** Measured (rss2 − rss1) / K in KB (1,000 bytes); may be negative when the delta is noise. */
  readonly kbPerMailbox: number;
  /** What the readings alone can move the figure by (KB per mailbox): the spread of the readings at both points. */
  readonly noiseKbPerMailbox: number;
  /** The delta is not above the noise: the figure says only that a mailbox costs less than the noise. */
  readonly belowNoise: boolean;
  readonly beforeKib: number;
  readonly afterKib: number;
  /** Per process, its own (rss2 − rss1) / K in KB. */
  readonly byProcess: ReadonlyArray<readonly [string, number]>;
}

const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
const spread = (xs: readonly number[]) => (xs.length > 0 ? Math.max(...xs) - Math.min(...xs) : 0);

/**
 * Memory per idle mailbox from two idle points with the same history (issue 16): the platform's RSS (sum over its
 * processes of each one's median reading) before and after `k` more idle mailboxes, over `k`. The noise is what moves
 * without a mailbox added: the spread of each process's readings at both points, plus the drift between an earlier
 * reading of the first point (`drift`, taken a settle time before `before`, nothing connected in between) and it.
 */
export function idleMemoryPerMailbox(
  before: RssReadings,
  after: RssReadings,
  k: number,
  drift: RssReadings = before,
): IdleMemory {
  if (!(k > 0)) throw new RangeError(`${k} mailboxes: need at least one`);
  const med = (xs: readonly number[]) => (xs.length > 0 ? percentile(xs, 50) : 0);
  const names = [...new Set([...before.keys(), ...after.keys()])];
  const total = (m: RssReadings) => sum(names.map((n) => med(m.get(n) ?? [])));
  const [beforeKib, afterKib] = [total(before), total(after)];
  const spreads = sum(names.map((n) => spread(before.get(n) ?? []) + spread(after.get(n) ?? [])));
  const noiseKib = spreads + Math.abs(beforeKib - total(drift));
  // KiB → KB (1,000 bytes), per mailbox.
  const perMailbox = (kib: number) => (kib * 1.024) / k;
  const kbPerMailbox = perMailbox(afterKib - beforeKib);
  const noiseKbPerMailbox = perMailbox(noiseKib);
  return {
    kbPerMailbox,
    noiseKbPerMailbox,
    belowNoise: kbPerMailbox <= noiseKbPerMailbox,
    beforeKib,
    afterKib,
    byProcess: names.map((n) => [n, perMailbox(med(after.get(n) ?? []) - med(before.get(n) ?? []))] as const),
  };
}

/** A per-mailbox delta as printed (KB): never negative; a fall is said in words. */
export function kbDelta(kb: number): string {
  return kb < 0 ? `fell ${fixed(-kb, 1)}` : fixed(kb, 1);
}

/**
 * The memory figure as printed: never negative. Above the noise, the measured KB; within it, the measured value when
 * positive (or 0) and the noise it is below, so a reader sees an upper bound rather than a number that means nothing.
 */
export function idleMemoryFigure(m: IdleMemory): string {
  if (!m.belowNoise) return `${fixed(m.kbPerMailbox, 0)} KB/mailbox`;
  return `${fixed(Math.max(0, m.kbPerMailbox), 1)} KB/mailbox (below the ±${fixed(m.noiseKbPerMailbox, 1)} KB noise)`;
}

/** `bench embedded: 812 msg/s sustained, p50 0.6 s, p99 2.1 s, 1.9 cpu-ms/msg, 41 KB/mailbox, 0.11 of raw pg` */
export function summaryLine(s: ModeSummary): string {
  const ratio = s.rawPgRowsPerSecond > 0 ? s.sustainedPerSecond / s.rawPgRowsPerSecond : Number.NaN;
  return (
    `bench ${s.mode}: ${fixed(s.sustainedPerSecond, 0)} msg/s sustained, ` +
    `p50 ${fixed(s.p50Seconds, 1)} s, p99 ${fixed(s.p99Seconds, 1)} s, ` +
    `${fixed(s.cpuMsPerMessage, 1)} cpu-ms/msg, ${idleMemoryFigure(s.idleMemory)}, ` +
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

/** What the bench measured of the sandbox (its own process), to show it is not what limits the platform. */
export interface SandboxCeiling {
  readonly messages: number;
  /** From the first delivery of the burst until the sandbox acknowledged the last. */
  readonly injectSeconds: number;
  /** The sandbox's CPU over the burst: the deliveries, the platform's Gmail API calls, the Pub/Sub pushes. */
  readonly burstCpuMs: number;
  /** `messages.get` (format=raw) run by the bench alone after the steady phase, when measured. */
  readonly gets?: { readonly calls: number; readonly seconds: number; readonly cpuMs: number };
}

/**
 * The sandbox's ceiling in one line: the injection rate the burst reached, the messages per second one core of the
 * sandbox could serve at the CPU it spent per burst message (it is one Node process: one core is its limit), and its
 * `messages.get` rate. Issue 16 asks for it in the same run as the platform's figures.
 */
export function sandboxCeilingLine(mode: string, c: SandboxCeiling): string {
  const perMessage = c.burstCpuMs / c.messages;
  const parts = [
    `injection reached ${(c.messages / c.injectSeconds).toFixed(0)} deliveries/s (${c.injectSeconds.toFixed(1)} s ` +
      `for ${c.messages})`,
    `${perMessage.toFixed(2)} sandbox CPU-ms per burst message (deliveries, the platform's Gmail calls, pushes) = at ` +
      `most ${perMessage > 0 ? (1000 / perMessage).toFixed(0) : '∞'} msg/s on its one core`,
  ];
  if (c.gets)
    parts.push(
      `messages.get (raw) ${(c.gets.calls / c.gets.seconds).toFixed(0)}/s with the bench alone ` +
        `(${(c.gets.cpuMs / c.gets.calls).toFixed(2)} sandbox CPU-ms each)`,
    );
  return `${mode}: sandbox ceiling: ${parts.join('; ')}`;
}
