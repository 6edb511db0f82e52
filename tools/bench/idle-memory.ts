// Memory per idle connected mailbox (issue 16), measured before the burst at two idle points with the same history:
// a baseline set of idle mailboxes connected and settled, then K more connected and settled. Each point is several
// RSS readings of every platform process, each after a full collection in all of them.
import { call } from '../soak/crm-client';
import type { Platform } from '../soak/platforms';
import { sleep } from '../soak/processes';
import type { ProbeFile } from './end-to-end';
import { rssKbOf, wasmRssKbOf } from './proc';
import { CpuSample, CpuUse, IdleMemory, RssReadings, cpuBetween, idleMemoryPerMailbox } from './stats';

export interface IdleMemoryContext {
  readonly mode: string;
  readonly platform: Platform;
  readonly sandboxControlUrl: string;
  /** The public OAuth connect flow of one user's mailbox (tools/soak/crm-client.ts). */
  connect(userId: string, address: string): Promise<void>;
  /** A full collection in every platform process (the bench probe's `gc`): each one's heap after it, by pid. */
  collectGarbage(): Promise<ReadonlyMap<number, Pick<ProbeFile, 'memory'>>>;
  /** Cumulative CPU of the platform's processes, its PostgreSQL backends and the sandbox. */
  cpuSample(): Promise<CpuSample[]>;
  /** The probe's SQL counters in every platform process, by pid (the bench probe's `count`). */
  countSql(): Promise<ReadonlyMap<number, ProbeFile>>;
  log(line: string): void;
}

export interface IdleMemoryOptions {
  readonly idleMailboxes: number;
  readonly concurrency: number;
  readonly settleSeconds: number;
  /** RSS readings per point (each after a full collection), `readingMs` apart. */
  readonly readings: number;
  readonly readingMs: number;
}

export interface IdleMemoryReport extends IdleMemory {
  readonly baseline: number;
  readonly connectSeconds: number;
  /** Whether every connected mailbox's watch was in place before the readings (else the wait gave up). */
  readonly allWatched: boolean;
  /** The same arithmetic over the main threads' V8 heap in use: how much of the RSS figure is JavaScript objects. */
  readonly heap: IdleMemory;
  /** … over the main threads' V8 heap committed (in use, free pages V8 keeps, new space). */
  readonly heapTotal: IdleMemory;
  /** … over the worker threads' V8 heaps in use (PGlite's worker in embedded). */
  readonly workerHeap: IdleMemory;
  /** … over resident WebAssembly memory (PGlite's Postgres: shared buffers, caches; grows in steps, never shrinks). */
  readonly wasm: IdleMemory;
  /** CPU per connect of the K, by process, from the first flow until every watch was in place: where the time goes. */
  readonly cpuPerConnect: CpuUse[];
  /** The probe's SQL counters over the same window (divide by `idleMailboxes` for per connect). */
  readonly sqlWindow: readonly [ReadonlyMap<number, ProbeFile>, ReadonlyMap<number, ProbeFile>];
}

const CREATE_CHUNK = 1_000;

/** The baseline set: a tenth of K, at least 20 and at most K, so both points have warmed the same code paths. */
export function baselineIdleMailboxes(k: number): number {
  return Math.min(k, Math.max(20, Math.round(k / 10)));
}

/**
 * Platform processes whose memory counts: the embedded process (PGlite inside it), or the four services. The Kafka
 * mock stands in for infrastructure, like the PostgreSQL server, and the sandbox is the providers: all excluded.
 */
function measured(platform: Platform): Array<{ name: string; pid: number }> {
  return platform.processes().filter((p) => !p.name.startsWith('kafka'));
}

async function control<T>(ctx: IdleMemoryContext, path: string, method = 'GET', body?: unknown): Promise<T> {
  const res = await call<T>(`${ctx.sandboxControlUrl}/_sandbox${path}`, { method, body });
  if (res.status < 200 || res.status >= 300)
    throw new Error(`sandbox ${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

const watched = async (ctx: IdleMemoryContext) =>
  (await control<{ google: number }>(ctx, '/watched-mailboxes')).google;

/** Runs `task` over indexes [from, to) with at most `limit` in flight. */
async function pool(from: number, to: number, limit: number, task: (i: number) => Promise<void>) {
  let next = from;
  let failed = false;
  await Promise.all(
    Array.from({ length: Math.min(limit, to - from) }, async () => {
      while (!failed && next < to)
        await task(next++).catch((error: unknown) => {
          failed = true; // the others stop too
          throw error;
        });
    }),
  );
}

/** Connects idle mailboxes [from, to) and waits until each one's watch is in place, then `settleSeconds`. */
async function connectIdle(ctx: IdleMemoryContext, o: IdleMemoryOptions, from: number, to: number) {
  const address = (i: number) => `idle${i}@gmail.bench.test`;
  const watchedBefore = await watched(ctx);
  const sql0 = await ctx.countSql();
  const cpu0 = await ctx.cpuSample();
  const t0 = Date.now();
  for (let i = from; i < to; i += CREATE_CHUNK) {
    const addresses = Array.from({ length: Math.min(CREATE_CHUNK, to - i) }, (_, j) => address(i + j));
    await control(ctx, '/bulk-mailboxes', 'POST', { provider: 'google', addresses });
  }
  let connected = 0;
  let retried = 0;
  await pool(from, to, o.concurrency, async (i) => {
    // A flow that fails once under load is tried again (twice at most) rather than losing a long run; counted.
    for (let attempt = 1; ; attempt++) {
      try {
        await ctx.connect(`usr_idle_${i}`, address(i));
        break;
      } catch (error) {
        if (attempt === 3) throw error;
        retried++;
      }
    }
    if (++connected % 1_000 === 0) ctx.log(`${ctx.mode}: ${connected}/${to - from} idle mailboxes connected`);
  });
  const connectSeconds = (Date.now() - t0) / 1000;
  if (retried > 0) ctx.log(`${ctx.mode}: ${retried} idle connect flows failed once and were tried again`);
  // The connect's events (mail-gateway's history baseline and watch) finish after the flow: wait for the watches.
  // Bounded: it gives up when the count has not moved for a minute, or after 120 s + 0.2 s per mailbox.
  const want = watchedBefore + (to - from);
  const deadline = Date.now() + 120_000 + (to - from) * 200;
  let [count, movedAt] = [await watched(ctx), Date.now()];
  while (count < want && Date.now() < deadline && Date.now() - movedAt < 60_000) {
    await sleep(500);
    const now = await watched(ctx);
    if (now > count) [count, movedAt] = [now, Date.now()];
  }
  const allWatched = count >= want;
  const cpuPerConnect = cpuBetween(cpu0, await ctx.cpuSample(), to - from);
  const sqlWindow = [sql0, await ctx.countSql()] as const;
  if (!allWatched)
    ctx.log(`${ctx.mode}: ${want - count} idle mailboxes' watches were not in place; reading memory anyway`);
  await sleep(o.settleSeconds * 1000);
  return { connectSeconds, allWatched, cpuPerConnect, sqlWindow };
}

/** Readings of every measured process, each after a full collection (KiB): its RSS and its V8 heap in use. */
async function readMemory(ctx: IdleMemoryContext, o: IdleMemoryOptions) {
  const rss = new Map<string, number[]>();
  const heap = new Map<string, number[]>();
  const heapTotal = new Map<string, number[]>();
  const workerHeap = new Map<string, number[]>();
  const wasm = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, name: string, kib: number) =>
    m.set(name, [...(m.get(name) ?? []), kib]);
  for (let i = 0; i < o.readings; i++) {
    const after = await ctx.collectGarbage();
    await sleep(o.readingMs);
    for (const p of measured(ctx.platform)) {
      add(rss, p.name, rssKbOf(p.pid));
      add(wasm, p.name, wasmRssKbOf(p.pid));
      const memory = after.get(p.pid)?.memory;
      if (memory === undefined) continue;
      add(heap, p.name, memory.heapUsed / 1024);
      add(heapTotal, p.name, (memory.heapTotal ?? 0) / 1024);
      add(workerHeap, p.name, (memory.workers ?? []).reduce((a, w) => a + w.heapUsed, 0) / 1024);
    }
  }
  return { rss, heap, heapTotal, workerHeap, wasm } as Record<
    'rss' | 'heap' | 'heapTotal' | 'workerHeap' | 'wasm',
    RssReadings
  >;
}

export async function measureIdleMemory(
  ctx: IdleMemoryContext,
  o: IdleMemoryOptions,
): Promise<IdleMemoryReport> {
  const k = o.idleMailboxes;
  const baseline = baselineIdleMailboxes(k);
  ctx.log(`${ctx.mode}: connecting a baseline of ${baseline} idle mailboxes`);
  const first = await connectIdle(ctx, o, 0, baseline);
  const drift = await readMemory(ctx, o);
  // Nothing connected in between: what this reading moves by is noise, not mailboxes.
  await sleep(o.settleSeconds * 1000);
  const before = await readMemory(ctx, o);
  ctx.log(`${ctx.mode}: connecting ${k} more idle mailboxes`);
  const second = await connectIdle(ctx, o, baseline, baseline + k);
  const after = await readMemory(ctx, o);
  return {
    ...idleMemoryPerMailbox(before.rss, after.rss, k, drift.rss),
    heap: idleMemoryPerMailbox(before.heap, after.heap, k, drift.heap),
    heapTotal: idleMemoryPerMailbox(before.heapTotal, after.heapTotal, k, drift.heapTotal),
    workerHeap: idleMemoryPerMailbox(before.workerHeap, after.workerHeap, k, drift.workerHeap),
    wasm: idleMemoryPerMailbox(before.wasm, after.wasm, k, drift.wasm),
    baseline,
    connectSeconds: second.connectSeconds,
    allWatched: first.allWatched && second.allWatched,
    cpuPerConnect: second.cpuPerConnect,
    sqlWindow: second.sqlWindow,
  };
}
