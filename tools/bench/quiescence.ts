// Before a measured window: wait until the platform is quiet, so work left over from an earlier phase (the idle
// mailboxes' connects: first pull, watch, health reports) is not counted against the burst's messages.
import type { CpuSample } from './stats';

export interface QuietOptions {
  /** Quiet: the platform's processes together use less than this share of one core (percent) over a window. */
  readonly thresholdPercent: number;
  readonly windowMs: number;
  /** Consecutive quiet windows needed. */
  readonly windows: number;
  /** Gives up after this long (the burst runs anyway; the report says so). */
  readonly maxMs: number;
}

export const DEFAULT_QUIET: QuietOptions = {
  thresholdPercent: 15,
  windowMs: 1_000,
  windows: 2,
  maxMs: 90_000,
};

export interface QuietReport {
  readonly quiet: boolean;
  readonly waitedMs: number;
  /** CPU the platform spent while the bench waited: what the burst would have counted otherwise. */
  readonly cpuMs: number;
  /** The share of one core (percent) of each window, in order. */
  readonly windowPercents: readonly number[];
  /** Each process's CPU over the last windows (the quiet ones, when quiet), ms per second: the idle baseline. */
  readonly idleMsPerSecond: ReadonlyArray<readonly [string, number]>;
}

/** Summed CPU between two samples (processes present in both), as a share of one core over `ms`, percent. */
export function cpuPercent(before: readonly CpuSample[], after: readonly CpuSample[], ms: number): number {
  return ms > 0 ? (cpuDelta(before, after) * 100) / ms : 0;
}

function cpuDelta(before: readonly CpuSample[], after: readonly CpuSample[]): number {
  const start = new Map(before.map((s) => [s.pid, s.cpuMs]));
  let used = 0;
  for (const s of after) {
    const from = start.get(s.pid);
    if (from !== undefined && s.cpuMs >= from) used += s.cpuMs - from;
  }
  return used;
}

export interface QuietClock {
  now(): number;
  sleep(ms: number): Promise<unknown>;
}

/** Samples the platform's CPU every window until `windows` consecutive windows were below the threshold. */
export async function waitUntilQuiet(
  sample: () => Promise<CpuSample[]>,
  clock: QuietClock,
  o: QuietOptions = DEFAULT_QUIET,
): Promise<QuietReport> {
  const t0 = clock.now();
  const first = await sample();
  let [prev, prevAt] = [first, t0];
  const samples: Array<[CpuSample[], number]> = [[first, t0]];
  const windowPercents: number[] = [];
  let quietRun = 0;
  while (quietRun < o.windows && clock.now() - t0 < o.maxMs) {
    await clock.sleep(o.windowMs);
    const [now, at] = [await sample(), clock.now()];
    const pct = cpuPercent(prev, now, at - prevAt);
    windowPercents.push(pct);
    quietRun = pct < o.thresholdPercent ? quietRun + 1 : 0;
    [prev, prevAt] = [now, at];
    samples.push([now, at]);
  }
  const [from, fromAt] = samples[Math.max(0, samples.length - 1 - o.windows)];
  const idleMsPerSecond = [...new Set(prev.map((s) => s.name))].map((name) => {
    const only = (xs: readonly CpuSample[]) => xs.filter((x) => x.name === name);
    return [name, (cpuPercent(only(from), only(prev), prevAt - fromAt) * 1000) / 100] as const;
  });
  return {
    quiet: quietRun >= o.windows,
    waitedMs: clock.now() - t0,
    cpuMs: cpuDelta(first, prev),
    windowPercents,
    idleMsPerSecond,
  };
}

/** The sum of a Prometheus counter's samples (every label set) in a /metrics text; 0 when absent. */
export function counterTotal(metricsText: string, name: string): number {
  let total = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(name) || !/^[{ ]/.test(line.slice(name.length))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}
