// One mode of the end-to-end bench: the platform started as in `npm run soak` (tools/soak/platforms.ts), Gmail
// mailboxes connected through the public OAuth flow against the sandbox (its own process), contacts' mail delivered
// through the sandbox control API, and the CRM API read until all of it is visible.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { Answer, call, connectMailbox, crmToken } from '../soak/crm-client';
import { Platform, Sandbox, startDistributed, startEmbedded, startSandbox } from '../soak/platforms';
import { KafkaRequestCounts, kafkaRequestLines } from './kafka-requests';
import { freePortBase, sleep, waitFor } from '../soak/processes';
import { seededRandom } from '../soak/mix';
import { CpuProfile, NO_STAGE, ProfileSummary, summariseProfile } from './cpu-profile';
import { HeapProfile, allocationMarkdown, summariseAllocations } from './alloc-profile';
import { IdleMemoryReport, measureIdleMemory } from './idle-memory';
import { cpuMsOf, mainThreadCpuMsOf, sampleCpu } from './proc';
import { rawInsertRate } from './raw-pg';
import { BenchMail, deliveryItem } from './bench-mail';
import { statementDeltas, statementsMarkdown } from './statements';
import { counterTotal, waitUntilQuiet } from './quiescence';
import { ageBuckets, ageRows, scrapeMetrics } from './event-age';
import {
  PgliteFile,
  pgliteMarkdown,
  readPglite,
  pgliteStatementDeltas,
  threadCpuMsOf,
  threadNamesOf,
  threadGroups,
} from './threads';
import {
  CpuSample,
  CpuUse,
  IdleMemory,
  ModeSummary,
  cpuBetween,
  idleMemoryFigure,
  kbDelta,
  percentile,
  sandboxCeilingLine,
  visibleLatencies,
} from './stats';

export interface BenchOptions {
  mailboxes: number;
  messages: number;
  /**
   * Messages of an unmeasured burst before the measured one: a fresh process compiles its hot code (V8's optimising
   * compiler, PGlite's WebAssembly tier-up) on background threads during its first thousands of messages, a cost a
   * long-running server has paid; the measured burst is the sustained rate.
   */
  warmupMessages: number;
  idleMailboxes: number;
  latencySeconds: number;
  rawRows: number;
  profile: boolean;
  concurrency: number;
  /** Brokers of the Kafka mock cluster in distributed mode (each consumer long-polls every broker that leads one of its partitions). */
  kafkaBrokers: number;
  /** Body size of every delivered message in KB (0: a one-line plain message); see bench-mail.ts. */
  bodyKb: number;
  /** Wait after the idle mailboxes connected (and their watches are in place), before their memory is read. */
  settleSeconds: number;
  quick: boolean;
}

export interface ModeReport {
  readonly summary: ModeSummary;
  /** The profile's markdown section (with `--profile`). */
  readonly profileMarkdown?: string;
}

const LOCATION = 'loc_bench';
const RETURN_URL = 'http://localhost/bench/connected';
/** Settings the bench gives the platform: production defaults, except the CRM API rate limit (it polls a lot). */
const BENCH_PLATFORM_ENV = {
  LOG_LEVEL: 'warn',
  RATE_LIMIT_PER_MINUTE: '0',
  SMTP_PORT: '0',
  SAFETY_NET_POLL_SECONDS: '300',
  // The mock cluster answers an empty fetch only after the fetch's max wait, even when records arrive meanwhile (a
  // broker answers at once): at the default 1 s every Kafka hop would wait up to 1 s that it never waits in production.
  KAFKA_CONSUMER_MAX_WAIT_MS: '100',
};
const PROBE = path.join(__dirname, 'probe.cjs');

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const log = (line: string) => out(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Runs `task` over `items` with at most `limit` in flight; the first failure fails the whole and stops the rest. */
async function pool<T>(items: readonly T[], limit: number, task: (item: T, i: number) => Promise<void>) {
  let next = 0;
  let failed = false;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (!failed && next < items.length) {
        const i = next++;
        await task(items[i], i).catch((error: unknown) => {
          failed = true;
          throw error;
        });
      }
    }),
  );
}

interface BenchMailbox {
  readonly userId: string;
  readonly address: string;
  /** The contact whose mail is measured, and the one whose warm-up mail proves the watch is in place. */
  readonly contactId: string;
  readonly contactEmail: string;
  readonly warmContactId: string;
  readonly warmContactEmail: string;
}

const median = (xs: number[]) => percentile(xs, 50);

/** One item of the sandbox's bulk-deliver answer, the fields the bench reads. */
interface BulkDeliveryAnswer {
  status: number;
  id?: string;
  deliveredAt?: number;
  error?: string;
}

/** Burst deliveries per control call and calls in flight: two keep the sandbox busy while one answer travels. */
const BURST_CHUNK = 100;
const BURST_CHUNKS_IN_FLIGHT = 2;
/**
 * How often the burst reads the CRM API: a message counts as visible at the first read that shows it, so the
 * interval is the measurement's resolution (at 500 ms a 4 s burst read up to an eighth long). A read is one page of
 * conversations per 100 contacts: its CPU is in the platform's figures, as a CRM's own reads would be.
 */
const BURST_POLL_MS = 100;
/** The steady phase offers what fell due every tick in one call (each message keeps its own delivery time). */
const STEADY_TICK_MS = 20;

/** A page of `GET /v1/locations/{locationId}/conversations`, the fields the bench reads. */
interface ConversationPage {
  items: Array<{ contactId: string; messageCount: number }>;
  nextCursor: string | null;
}

class ModeRun {
  private readonly probeDir: string;

  constructor(
    readonly mode: 'embedded' | 'distributed',
    readonly platform: Platform,
    readonly sandbox: Sandbox,
    readonly o: BenchOptions,
    readonly dir: string,
  ) {
    this.probeDir = path.join(dir, 'probes');
  }

  token(userId: string): string {
    return crmToken(this.platform.authJwtSecret, LOCATION, userId);
  }

  private async control<T>(pathAndQuery: string, method = 'GET', body?: unknown) {
    const res = await call<T>(`${this.sandbox.controlUrl}/_sandbox${pathAndQuery}`, { method, body });
    if (res.status < 200 || res.status >= 300)
      throw new Error(
        `sandbox ${method} ${pathAndQuery} answered ${res.status}: ${JSON.stringify(res.body)}`,
      );
    return res.body;
  }

  private async createMailbox(address: string): Promise<void> {
    await this.control('/mailboxes', 'POST', { provider: 'google', address });
  }

  async connect(userId: string, address: string): Promise<void> {
    await connectMailbox({
      identityConnectionsUrl: this.platform.urls['identity-connections'],
      token: this.token(userId),
      locationId: LOCATION,
      userId,
      provider: 'google',
      mailbox: address,
      returnUrl: RETURN_URL,
    });
  }

  async deliver(to: string, from: string, subject: string): Promise<void> {
    const { mailbox, ...message } = deliveryItem({ to, from, subject }, this.o.bodyKb);
    await this.control(`/mailboxes/${encodeURIComponent(mailbox)}/deliver`, 'POST', message);
  }

  /**
   * Many deliveries in one control call (`POST /_sandbox/bulk-deliver`): one HTTP call per message cost the sandbox
   * and the bench more CPU on the platform's cores than the platform's own work (issue 16). Resolves with when each
   * message landed in its mailbox (the sandbox's acknowledgement of it, what latency is measured from), in order.
   */
  async deliverBulk(items: readonly BenchMail[]): Promise<number[]> {
    const { results } = await this.control<{ results: BulkDeliveryAnswer[] }>('/bulk-deliver', 'POST', {
      messages: items.map((m) => deliveryItem(m, this.o.bodyKb)),
    });
    const failed = results.find((r) => r.status !== 201);
    if (failed || results.length !== items.length)
      throw new Error(`sandbox bulk-deliver: ${failed ? JSON.stringify(failed) : 'answered a wrong count'}`);
    return results.map((r) => r.deliveredAt ?? 0);
  }

  /** Messages per contact as the CRM lists them: the location's conversations (one per contact), every page. */
  async counts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const url = `${this.platform.urls.conversations}/v1/locations/${LOCATION}/conversations`;
    let cursor: string | null = null;
    for (let page = 0; page < 1_000; page++) {
      const res: Answer<ConversationPage> = await call(
        `${url}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        {
          token: this.token('usr_bench_reader'),
        },
      );
      if (res.status !== 200) throw new Error(`GET conversations answered ${res.status}`);
      // A conversation may move to the front between pages: keep the highest count seen.
      for (const c of res.body.items)
        counts.set(c.contactId, Math.max(counts.get(c.contactId) ?? 0, c.messageCount));
      cursor = res.body.nextCursor;
      if (!cursor) return counts;
    }
    throw new Error('GET conversations: more than 1,000 pages');
  }

  // ---- set-up ----

  async setUp(): Promise<BenchMailbox[]> {
    const boxes: BenchMailbox[] = Array.from({ length: this.o.mailboxes }, (_, i) => ({
      userId: `usr_bench_${i}`,
      address: `bench${i}@gmail.bench.test`,
      contactId: `ct_bench_${i}`,
      contactEmail: `contact${i}@contacts.bench.test`,
      warmContactId: `ct_warm_${i}`,
      warmContactEmail: `warm${i}@contacts.bench.test`,
    }));
    const conv = `${this.platform.urls.conversations}/v1/locations/${LOCATION}`;
    await pool(boxes, this.o.concurrency, async (b) => {
      await this.createMailbox(b.address);
      for (const [id, email] of [
        [b.contactId, b.contactEmail],
        [b.warmContactId, b.warmContactEmail],
      ]) {
        const res = await call(`${conv}/contacts/${id}`, {
          method: 'PUT',
          token: this.token(b.userId),
          body: { email, name: `Bench ${id}`, assignedUserId: b.userId },
        });
        if (res.status !== 200 && res.status !== 201)
          throw new Error(`PUT contact answered ${res.status}: ${JSON.stringify(res.body)}`);
      }
    });
    // Mail from a contact sync-engine does not know yet would be skipped, and the bench would wait for nothing.
    await pool(boxes, this.o.concurrency, async (b) => {
      for (const email of [b.contactEmail, b.warmContactEmail])
        await waitFor(
          `sync-engine's projection of ${email}`,
          async () => {
            const res = await call<{ items: unknown[] }>(
              `${this.platform.urls['sync-engine']}/internal/contacts?locationId=${LOCATION}&email=${encodeURIComponent(email)}`,
              { token: this.platform.internalApiToken },
            );
            return res.status === 200 && res.body.items.length > 0;
          },
          120_000,
          250,
        );
    });
    await pool(boxes, this.o.concurrency, (b) => this.connect(b.userId, b.address));
    // Warm-up: a message from the warm-up contact, again every 15 s, until each mailbox's shows in the CRM (the watch
    // and the history baseline are in place; the first message also warms every code path).
    const deadline = Date.now() + 240_000;
    const pending = new Set(boxes);
    let round = 0;
    while (pending.size > 0) {
      if (Date.now() > deadline)
        throw new Error(
          `${pending.size} mailboxes never showed their warm-up message in the CRM API within 240 s`,
        );
      if (round++ % 30 === 0)
        await pool([...pending], this.o.concurrency, (b) =>
          this.deliver(b.address, b.warmContactEmail, `warm-up ${round}`),
        );
      await sleep(500);
      const counts = await this.counts().catch(() => new Map<string, number>());
      for (const b of [...pending]) if ((counts.get(b.warmContactId) ?? 0) > 0) pending.delete(b);
    }
    return boxes;
  }

  // ---- measurements ----

  /** Every process whose CPU the bench reads: the platform's, its PostgreSQL backends, the sandbox. */
  private async processes(): Promise<Array<{ name: string; pid: number }>> {
    const list = [...this.platform.processes()];
    if (this.platform.databaseUrl) {
      const client = new Client({ connectionString: this.platform.databaseUrl });
      await client.connect();
      try {
        const rows = await client.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        for (const r of rows.rows) list.push({ name: 'postgres backends', pid: r.pid });
      } finally {
        await client.end();
      }
    }
    if (this.sandbox.pid) list.push({ name: 'sandbox', pid: this.sandbox.pid });
    return list;
  }

  private mainThreads(): CpuSample[] {
    return this.platform.processes().flatMap((p) => {
      const cpuMs = mainThreadCpuMsOf(p.pid);
      return cpuMs === undefined ? [] : [{ ...p, cpuMs }];
    });
  }

  private threads(): Map<number, Map<number, number>> {
    return new Map(this.platform.processes().map((p) => [p.pid, threadCpuMsOf(p.pid)]));
  }

  /** The PGlite worker's counters (embedded), written on the same probe request as `sql`; none elsewhere. */
  private async pglite(sql: Map<number, ProbeFile>): Promise<Map<number, PgliteFile>> {
    const out = new Map<number, PgliteFile>();
    if (this.mode !== 'embedded') return out;
    for (const [pid, file] of sql) {
      const f = await waitFor(
        "PGlite worker's counters",
        async () => {
          const p = readPglite(this.probeDir, pid);
          return p && p.seq >= file.seq ? p : undefined;
        },
        10_000,
        50,
      ).catch(() => undefined);
      if (f) out.set(pid, f);
    }
    return out;
  }

  async cpuSample(): Promise<CpuSample[]> {
    return sampleCpu(await this.processes());
  }

  /**
   * Every platform process runs `command` in its preloaded probe (tools/bench/probe.cjs: `count`, `gc`,
   * `profile-start`, `profile-stop`) and writes its SQL counters; resolves with them once all have answered.
   */
  private async probe(
    command: 'count' | 'gc' | 'profile-start' | 'profile-stop',
  ): Promise<Map<number, ProbeFile>> {
    const result = new Map<number, ProbeFile>();
    fs.writeFileSync(path.join(this.probeDir, 'command'), command);
    const procs = this.platform.processes().filter((p) => !p.name.startsWith('kafka'));
    const before = new Map(procs.map((p) => [p.pid, readProbe(this.probeDir, p.pid)?.seq ?? 0]));
    for (const p of procs) process.kill(p.pid, 'SIGUSR2');
    for (const p of procs) {
      const file = await waitFor(
        `${p.name}'s SQL counters`,
        async () => {
          const f = readProbe(this.probeDir, p.pid);
          return f && f.seq > (before.get(p.pid) ?? 0) ? f : undefined;
        },
        30_000,
        100,
      );
      result.set(p.pid, file);
    }
    return result;
  }

  /** A burst of `n` messages into `boxes`, measured (or, as a warm-up, only waited for: `measured` false). */
  async burst(boxes: BenchMailbox[], n = this.o.messages, measured = true) {
    const base = await this.counts();
    const sql0 = await this.probe(this.o.profile && measured ? 'profile-start' : 'count');
    const pglite0 = await this.pglite(sql0);
    const cpu0 = await this.cpuSample();
    const main0 = this.mainThreads();
    const threads0 = this.threads();
    const bench0 = process.cpuUsage();
    const injected = new Map<string, number[]>(boxes.map((b) => [b.contactId, []]));
    const t0 = performance.now();
    const start = Date.now();
    let injectedAll = 0;
    const chunks = Array.from({ length: Math.ceil(n / BURST_CHUNK) }, (_, c) =>
      Array.from({ length: Math.min(BURST_CHUNK, n - c * BURST_CHUNK) }, (_, k) => c * BURST_CHUNK + k),
    );
    const injection = pool(chunks, BURST_CHUNKS_IN_FLIGHT, async (chunk) => {
      const at = await this.deliverBulk(
        chunk.map((i) => {
          const b = boxes[i % boxes.length];
          return { to: b.address, from: b.contactEmail, subject: `burst ${i}` };
        }),
      );
      chunk.forEach((i, k) => injected.get(boxes[i % boxes.length].contactId)?.push(at[k]));
    }).then(() => {
      injectedAll = performance.now() - t0;
      // Two chunks in flight interleave in the sandbox: a contact's k-th message is its k-th delivery in time.
      for (const times of injected.values()) times.sort((a, b) => a - b);
    });
    const polls: Array<{ at: number; counts: Map<string, number> }> = [];
    const expected = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const id = boxes[i % boxes.length].contactId;
      expected.set(id, (expected.get(id) ?? 0) + 1);
    }
    const timeoutMs = 60_000 + n * 250;
    let visibleAt = 0;
    for (;;) {
      // A poll the platform did not answer is no progress; the wait stays bounded either way.
      const answer = await this.counts().catch(() => undefined);
      const at = Date.now();
      if (answer) polls.push({ at, counts: answer });
      const counts = polls.at(-1)?.counts ?? base;
      const visible = [...expected].reduce(
        (a, [id, want]) => a + Math.min(want, (counts.get(id) ?? 0) - (base.get(id) ?? 0)),
        0,
      );
      if (visible >= n) {
        visibleAt = performance.now();
        break;
      }
      if (at - start > timeoutMs) {
        await injection.catch(() => undefined);
        throw new Error(
          `${this.mode}: only ${visible} of ${n} burst messages became visible in the CRM API within ${timeoutMs / 1000} s`,
        );
      }
      if (polls.length % 100 === 0)
        log(`${this.mode}: burst ${visible}/${n} visible after ${((at - start) / 1000).toFixed(0)} s`);
      await sleep(BURST_POLL_MS);
    }
    await injection;
    const cpu1 = await this.cpuSample();
    const main1 = this.mainThreads();
    const threads1 = this.threads();
    const bench1 = process.cpuUsage(bench0);
    const sql1 = await this.probe(this.o.profile && measured ? 'profile-stop' : 'count');
    const pglite1 = await this.pglite(sql1);
    const pgliteSections = [...pglite1].map(([pid, after]) =>
      pgliteMarkdown(
        pgliteStatementDeltas(pglite0.get(pid), after),
        threadGroups(
          pid,
          threads0.get(pid) ?? new Map(),
          threads1.get(pid) ?? new Map(),
          after.tid,
          threadNamesOf(pid),
        ),
        n,
      ),
    );
    const seconds = (visibleAt - t0) / 1000;
    const { latencies } = visibleLatencies(injected, polls, base);
    return {
      sustained: n / seconds,
      seconds,
      injectSeconds: injectedAll / 1000,
      p50: median(latencies) / 1000,
      p99: percentile(latencies, 99) / 1000,
      cpu: cpuBetween(cpu0, cpu1, n),
      mainThreadCpu: new Map(cpuBetween(main0, main1, n).map((c) => [c.name, c.cpuMs])),
      benchCpuMs: (bench1.user + bench1.system) / 1000,
      sql0,
      sql1,
      pgliteSections,
    };
  }

  /** Messages offered at a steady `rate` for the configured seconds; latency of each from injection to visible. */
  async steady(boxes: BenchMailbox[], rate: number) {
    const count = Math.max(10, Math.round(rate * this.o.latencySeconds));
    const base = await this.counts();
    const injected = new Map<string, number[]>(boxes.map((b) => [b.contactId, []]));
    const t0 = Date.now();
    const failures: unknown[] = [];
    const injection = (async () => {
      // Open loop: message i is due at t0 + i/rate whatever the deliveries before it take. Every tick, what fell due
      // goes in one bulk call (what falls due while a call is in flight goes in the next); calls never overlap, so a
      // contact's messages land in order (the latency of its k-th is read off the k-th increase of its count), and
      // each message's latency counts from its own delivery time in the sandbox.
      let next = 0;
      while (next < count && failures.length === 0) {
        const due = Math.min(count, Math.floor(((Date.now() - t0) * rate) / 1000) + 1);
        if (due > next) {
          const batch = Array.from({ length: due - next }, (_, k) => next + k);
          next = due;
          await this.deliverBulk(
            batch.map((i) => {
              const b = boxes[i % boxes.length];
              return { to: b.address, from: b.contactEmail, subject: `steady ${i}` };
            }),
          ).then(
            (at) => batch.forEach((i, k) => injected.get(boxes[i % boxes.length].contactId)?.push(at[k])),
            (e: unknown) => void failures.push(e),
          );
        }
        if (next < count)
          await sleep(Math.max(0, Math.min(STEADY_TICK_MS, t0 + (next * 1000) / rate - Date.now())));
      }
    })();
    const polls: Array<{ at: number; counts: Map<string, number> }> = [];
    const timeoutMs = this.o.latencySeconds * 1000 + 120_000;
    let done = false;
    void injection.then(() => (done = true));
    for (;;) {
      const answer = await this.counts().catch(() => undefined);
      if (answer) polls.push({ at: Date.now(), counts: answer });
      const counts = polls.at(-1)?.counts ?? base;
      const visible = boxes.reduce(
        (a, b) => a + (counts.get(b.contactId) ?? 0) - (base.get(b.contactId) ?? 0),
        0,
      );
      if (done && (visible >= count || failures.length > 0)) break;
      if (Date.now() - t0 > timeoutMs)
        throw new Error(
          `${this.mode}: only ${visible} of ${count} steady-rate messages became visible within ${timeoutMs / 1000} s`,
        );
      await sleep(200);
    }
    if (failures.length) throw new Error(`${failures.length} deliveries failed: ${String(failures[0])}`);
    const { latencies, missing } = visibleLatencies(injected, polls, base);
    if (missing > 0) throw new Error(`${missing} steady-rate messages were never seen`);
    return { count, p50: median(latencies) / 1000, p99: percentile(latencies, 99) / 1000 };
  }

  /**
   * The sandbox's `messages.get` (format=raw, the platform's read of a new message) rate with only the bench calling:
   * `calls` gets over the bench mailboxes' messages, 8 in flight, and the sandbox's CPU for them. Run after the steady
   * phase (nothing else is measured then); 100 gets per mailbox stay far inside Gmail's per-user quota.
   */
  async sandboxGetRate(boxes: BenchMailbox[], calls: number) {
    const root = this.sandbox.env.GMAIL_API_ROOT_URL;
    const targets: Array<{ token: string; url: string }> = [];
    for (const b of boxes) {
      const { access_token: token } = await this.control<{ access_token: string }>(
        `/mailboxes/${encodeURIComponent(b.address)}/tokens`,
        'POST',
        {},
      );
      const list = await call<{ messages?: Array<{ id: string }> }>(
        `${root}gmail/v1/users/me/messages?maxResults=100`,
        { token },
      );
      for (const m of list.body?.messages ?? [])
        targets.push({ token, url: `${root}gmail/v1/users/me/messages/${m.id}?format=raw` });
    }
    if (targets.length === 0) throw new Error('no messages to get from the sandbox');
    const pid = this.sandbox.pid;
    const cpu0 = pid ? (cpuMsOf(pid) ?? 0) : 0;
    const t0 = performance.now();
    await pool(
      Array.from({ length: calls }, (_, i) => targets[i % targets.length]),
      8,
      async (t) => {
        const res = await fetch(t.url, { headers: { authorization: `Bearer ${t.token}` } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`sandbox messages.get answered ${res.status}`);
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    return { calls, seconds, cpuMs: pid ? (cpuMsOf(pid) ?? 0) - cpu0 : 0 };
  }

  /** Waits (bounded) until mail-gateway counts `want` completeness audits: each mailbox's first one is done. */
  async waitForAudits(want: number, maxMs: number): Promise<{ audited: number; waitedMs: number }> {
    const t0 = Date.now();
    let audited = 0;
    for (;;) {
      const res = await fetch(`${this.platform.urls['mail-gateway']}/metrics`).catch(() => undefined);
      if (res?.ok) audited = counterTotal(await res.text(), 'mail_gateway_audits_total');
      if (audited >= want || Date.now() - t0 > maxMs) return { audited, waitedMs: Date.now() - t0 };
      await sleep(1_000);
    }
  }

  /** Each platform process's name by pid. */
  processNames(): Map<number, string> {
    return new Map(this.platform.processes().map((p) => [p.pid, p.name]));
  }

  /** The SQL counters of every platform process. */
  countSql() {
    return this.probe('count');
  }

  /** A full collection in every platform process, before memory readings. */
  collectGarbage() {
    return this.probe('gc');
  }

  profileDir(): string {
    return this.probeDir;
  }
}

interface ProbeCounts {
  roundTrips: number;
  statements: number;
  relayStatements: number;
  commits: number;
  rollbacks: number;
}
export interface ProbeFile {
  seq: number;
  pid: number;
  /** Per connection application name; `byText`: calls per statement shape (the probe's normalised text). */
  counts: Record<string, ProbeCounts & { byText?: Record<string, number> }>;
  /** Kafka requests sent by the process, by API name (distributed mode). */
  kafka?: KafkaRequestCounts;
  /** After `gc`: the main thread's V8 heap in use and memory outside it held by JS objects, bytes. */
  memory?: {
    heapUsed: number;
    heapTotal?: number;
    external: number;
    /** Each worker thread's isolate (PGlite's), after a full collection in it too. */
    workers?: Array<{ heapUsed: number; heapTotal: number; external: number }>;
  };
}

function sqlDeltas(
  sql0: ReadonlyMap<number, ProbeFile>,
  sql1: ReadonlyMap<number, ProbeFile>,
): Map<string, ProbeCounts> {
  const sql = new Map<string, ProbeCounts>();
  for (const [pid, after] of sql1) {
    const before = sql0.get(pid)?.counts ?? {};
    for (const [app, c] of Object.entries(after.counts)) {
      const b = before[app];
      const acc = sql.get(app) ?? {
        roundTrips: 0,
        statements: 0,
        relayStatements: 0,
        commits: 0,
        rollbacks: 0,
      };
      for (const k of Object.keys(acc) as Array<keyof ProbeCounts>) acc[k] += c[k] - (b?.[k] ?? 0);
      sql.set(app, acc);
    }
  }
  return sql;
}

const perMessage = (c: ProbeCounts, n: number) =>
  `${(c.commits / n).toFixed(2)} tx, ${((c.statements - c.relayStatements) / n).toFixed(2)} statements ` +
  `(+${(c.relayStatements / n).toFixed(2)} outbox/inbox)`;

function sqlTotals(sql0: Map<number, ProbeFile>, sql1: Map<number, ProbeFile>): ProbeCounts {
  const total = { roundTrips: 0, statements: 0, relayStatements: 0, commits: 0, rollbacks: 0 };
  for (const c of sqlDeltas(sql0, sql1).values())
    for (const k of Object.keys(total) as Array<keyof ProbeCounts>) total[k] += c[k];
  return total;
}

function readProbe(dir: string, pid: number): ProbeFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, `sql-${pid}.json`), 'utf8')) as ProbeFile;
  } catch {
    return undefined;
  }
}

const OTHER_THREADS = "other threads (PGlite's worker, libuv, V8 helpers)";

const STAGE_OF_APP: Record<string, string> = {
  'mail-gateway': 'gateway pull + observe (mail-gateway)',
  'sync-engine': 'sync-engine decide/apply',
  conversations: 'conversations record',
  'identity-connections': 'identity-connections',
};

export async function runMode(
  mode: 'embedded' | 'distributed',
  o: BenchOptions,
  dir: string,
  logDir: string,
): Promise<ModeReport> {
  fs.mkdirSync(dir, { recursive: true });
  log(`${mode}: raw batched insert baseline (${o.rawRows.toLocaleString('en-US')} rows)`);
  const rawPg = await rawInsertRate(mode, o.rawRows);
  log(`${mode}: raw ${mode === 'embedded' ? 'PGlite' : 'PostgreSQL'}: ${Math.round(rawPg)} rows/s`);
  const portBase = await freePortBase(seededRandom(Date.now() & 0xffff));
  const ports = [1, 2, 3, 4].map((i) => portBase + i);
  let sandbox: Sandbox | undefined;
  let platform: Platform | undefined;
  try {
    log(`${mode}: starting the sandbox providers and the platform`);
    sandbox = await startSandbox(
      dir,
      1,
      `http://127.0.0.1:${ports[1]}/v1/webhooks/gmail`,
      path.join(logDir, `${mode}-sandbox.log`),
    );
    const probeDir = path.join(dir, 'probes');
    fs.mkdirSync(probeDir, { recursive: true });
    const options = {
      env: BENCH_PLATFORM_ENV,
      databasePrefix: 'mb_bench',
      kafkaBrokers: o.kafkaBrokers,
      // The probe in every platform process: SQL counters, a full GC before memory readings, the profiler.
      processEnv: (): Record<string, string> => ({
        NODE_OPTIONS: `--expose-gc --require ${PROBE}`,
        BENCH_PROBE_DIR: probeDir,
      }),
    };
    platform =
      mode === 'embedded'
        ? await startEmbedded(dir, portBase, sandbox, path.join(logDir, 'embedded.log'), options)
        : await startDistributed(dir, sandbox, ports, logDir, options);
    const run = new ModeRun(mode, platform, sandbox, o, dir);
    log(`${mode}: connecting ${o.mailboxes} mailboxes through OAuth and warming up`);
    const boxes = await run.setUp();

    // Memory first: after the burst the heap has grown and shrunk, and the delta of two readings around it is noise.
    const idle = await measureIdleMemory(
      {
        mode,
        platform,
        sandboxControlUrl: sandbox.controlUrl,
        connect: (userId, address) => run.connect(userId, address),
        collectGarbage: () => run.collectGarbage(),
        cpuSample: () => run.cpuSample(),
        countSql: () => run.countSql(),
        log,
      },
      {
        idleMailboxes: o.idleMailboxes,
        concurrency: o.concurrency * 2,
        settleSeconds: o.settleSeconds,
        readings: o.quick ? 3 : 5,
        readingMs: o.quick ? 500 : 1_000,
      },
    );
    out(idleMemoryLine(mode, o.idleMailboxes, idle));
    out(
      `${mode}: of which the main threads' V8 heap in use (after GC): ${kbDelta(idle.heap.kbPerMailbox)} KB/mailbox ` +
        `(±${idle.heap.noiseKbPerMailbox.toFixed(1)}; ${idle.heap.byProcess.map(([n, kb]) => `${n} ${kbDelta(kb)}`).join(', ')})`,
    );
    const part = (label: string, m: IdleMemory) =>
      `${label} ${kbDelta(m.kbPerMailbox)} KB/mailbox (±${m.noiseKbPerMailbox.toFixed(1)})`;
    out(
      `${mode}: also of it: ${part("main threads' V8 heap committed", idle.heapTotal)}, ` +
        `${part("worker threads' V8 heap in use", idle.workerHeap)}, ` +
        `${part('resident WebAssembly memory (PGlite)', idle.wasm)}`,
    );
    if (process.env.BENCH_PROBE_TEXTS === '1')
      fs.writeFileSync(
        path.join(logDir, `${mode}-idle-sql.json`),
        JSON.stringify(idle.sqlWindow.map((m) => [...m.values()])),
      );
    const perConnect = (n: number) => (n / o.idleMailboxes).toFixed(1);
    out(
      `${mode}: database work per idle connect (OAuth flow until the watch is in place): ` +
        [...sqlDeltas(...idle.sqlWindow)]
          .map(
            ([app, c]) => `${app} ${perConnect(c.statements)} statements, ${perConnect(c.commits)} commits`,
          )
          .join('; '),
    );
    out(
      `${mode}: CPU per idle connect (OAuth flow until the watch is in place): ` +
        idle.cpuPerConnect.map((c) => `${c.name} ${c.perMessageMs.toFixed(1)} ms`).join(', '),
    );

    // A new mailbox's first completeness audit (SYN-10) comes at mail-gateway's next audit tick (30 s): after the
    // idle connects, that is a round over all of them, which must not fall into the burst window either.
    const mailboxes = o.mailboxes + idle.baseline + o.idleMailboxes;
    const audits = await run.waitForAudits(mailboxes, 120_000 + mailboxes * 20);
    out(
      `${mode}: ${audits.audited} of ${mailboxes} mailboxes audited once (mail_gateway_audits_total) after ` +
        `${(audits.waitedMs / 1000).toFixed(0)} s${audits.audited >= mailboxes ? '' : ': gave up waiting'}`,
    );
    // After the audit round, so the two do not overlap; the wait for quiet below takes its tail.
    if (o.warmupMessages > 0) {
      log(`${mode}: warm-up burst of ${o.warmupMessages} messages (not measured)`);
      const warm = await run.burst(boxes, o.warmupMessages, false);
      out(
        `${mode}: warm-up burst ${o.warmupMessages} msgs visible in ${warm.seconds.toFixed(1)} s = ` +
          `${warm.sustained.toFixed(1)} msg/s, ${platformCpuPerMessage(warm.cpu).toFixed(2)} cpu-ms/msg (fresh processes' first ` +
          `messages; not the result)`,
      );
    }
    // The idle connects' and the warm-up's own work (first pull, watch, health reports, the warm-up's tail) must not
    // be counted against the burst.
    const waitSql0 = await run.countSql();
    const waitStarted = performance.now();
    const quiet = await waitUntilQuiet(
      async () => (await run.cpuSample()).filter((c) => c.name !== 'sandbox'),
      { now: () => Date.now(), sleep },
    );
    out(
      `${mode}: ${quiet.quiet ? 'quiet' : 'NOT quiet (gave up)'} after ${(quiet.waitedMs / 1000).toFixed(1)} s; the ` +
        `platform used ${Math.round(quiet.cpuMs)} CPU-ms meanwhile (${(quiet.cpuMs / o.messages).toFixed(2)} ms per ` +
        `burst message, had the burst started at once); windows: ` +
        `${quiet.windowPercents.map((p) => `${p.toFixed(0)}%`).join(' ')} of one core`,
    );
    out(
      `${mode}: idle CPU (the last windows), ms per second: ` +
        quiet.idleMsPerSecond.map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', '),
    );
    const waitSql1 = await run.countSql();
    const waitSeconds = (performance.now() - waitStarted) / 1000;
    for (const line of kafkaRequestLines(waitSql0, waitSql1, run.processNames(), waitSeconds, 1))
      out(`${mode}: Kafka requests per second during that wait, ${line}`);
    out(
      `${mode}: database work during that wait, per burst message: ` +
        [...sqlDeltas(waitSql0, waitSql1)]
          .map(([app, c]) => `${app} ${perMessage(c, o.messages)}`)
          .join('; '),
    );
    log(`${mode}: burst of ${o.messages} messages across ${o.mailboxes} mailboxes`);
    const serviceUrls = Object.values(platform.urls);
    const PULLS = 'mail_gateway_pull_seconds';
    const scraped0 = await scrapeMetrics(serviceUrls);
    const burst = await run.burst(boxes);
    const scraped1 = await scrapeMetrics(serviceUrls);
    const ages = ageRows(ageBuckets(scraped0), ageBuckets(scraped1));
    const pulls = ageRows(ageBuckets(scraped0, PULLS), ageBuckets(scraped1, PULLS));
    out(
      `${mode}: burst ${o.messages} msgs visible in ${burst.seconds.toFixed(1)} s = ${burst.sustained.toFixed(1)} msg/s ` +
        `(injected in ${burst.injectSeconds.toFixed(1)} s = ${(o.messages / burst.injectSeconds).toFixed(0)} deliveries/s ` +
        `into the sandbox, ${BURST_CHUNK} per bulk call; burst latency p50 ${burst.p50.toFixed(1)} s, p99 ${burst.p99.toFixed(1)} s)`,
    );
    out(`${mode}: event age when handled during the burst (since its envelope's occurredAt), per consumer:`);
    for (const a of ages)
      out(
        `  ${a.series.padEnd(64)} ${String(a.count).padStart(6)} events  p50 ${a.p50.toFixed(2)} s  p99 ${a.p99.toFixed(2)} s`,
      );
    for (const p of pulls)
      out(
        `${mode}: mailbox pulls during the burst (${p.series}): ${p.count}, duration p50 ${p.p50.toFixed(2)} s, p99 ${p.p99.toFixed(2)} s`,
      );
    const cpuPerMessage = platformCpuPerMessage(burst.cpu);
    out(`${mode}: CPU per message during the burst (from /proc/<pid>/stat utime+stime deltas):`);
    for (const c of burst.cpu)
      out(
        `  ${c.name.padEnd(22)} ${c.perMessageMs.toFixed(2).padStart(8)} ms/msg  (${Math.round(c.cpuMs)} ms)` +
          (c.name === 'sandbox' ? '  excluded' : ''),
      );
    out(
      `  ${'platform total'.padEnd(22)} ${cpuPerMessage.toFixed(2).padStart(8)} ms/msg  (sandbox excluded)`,
    );
    out(
      `  ${'bench driver'.padEnd(22)} ${(burst.benchCpuMs / o.messages).toFixed(2).padStart(8)} ms/msg  excluded`,
    );

    const rate = burst.sustained / 2;
    log(`${mode}: steady ${rate.toFixed(1)} msg/s for ${o.latencySeconds} s (half the sustained rate)`);
    const steady = await run.steady(boxes, rate);
    out(
      `${mode}: steady ${rate.toFixed(1)} msg/s, ${steady.count} msgs: visible latency p50 ${steady.p50.toFixed(2)} s, p99 ${steady.p99.toFixed(2)} s`,
    );

    const gets = await run.sandboxGetRate(boxes, o.quick ? 400 : 2_000).catch((e: unknown) => {
      log(`${mode}: the sandbox's messages.get rate could not be measured: ${String(e)}`);
      return undefined;
    });
    out(
      sandboxCeilingLine(mode, {
        messages: o.messages,
        injectSeconds: burst.injectSeconds,
        burstCpuMs: burst.cpu.find((c) => c.name === 'sandbox')?.cpuMs ?? 0,
        gets,
      }),
    );

    for (const line of kafkaRequestLines(burst.sql0, burst.sql1, run.processNames(), o.messages, 3))
      out(`${mode}: Kafka requests per message during the burst, ${line}`);
    const sqlPerMessage = sqlTotals(burst.sql0, burst.sql1);
    out(
      `${mode}: database work per message during the burst: ${(sqlPerMessage.commits / o.messages).toFixed(1)} transactions, ` +
        `${(sqlPerMessage.statements / o.messages).toFixed(1)} statements, ${(sqlPerMessage.roundTrips / o.messages).toFixed(1)} round trips`,
    );
    const profileMarkdown = o.profile
      ? profileSection(
          mode,
          o,
          burst.cpu,
          burst.mainThreadCpu,
          burst.sql0,
          burst.sql1,
          run.profileDir(),
          platform,
        ) + burst.pgliteSections.join('\n')
      : undefined;
    return {
      summary: {
        mode,
        sustainedPerSecond: burst.sustained,
        p50Seconds: steady.p50,
        p99Seconds: steady.p99,
        cpuMsPerMessage: cpuPerMessage,
        idleMemory: idle,
        rawPgRowsPerSecond: rawPg,
      },
      profileMarkdown,
    };
  } finally {
    await platform?.stop().catch(() => undefined);
    await sandbox?.stop().catch(() => undefined);
  }
}

function idleMemoryLine(mode: string, k: number, m: IdleMemoryReport): string {
  const mib = (kib: number) => Math.round(kib / 1024);
  const byProcess = m.byProcess.map(([name, kb]) => `${name} ${kbDelta(kb)}`).join(', ');
  return (
    `${mode}: platform RSS ${mib(m.beforeKib)} MiB with ${m.baseline} idle mailboxes -> ${mib(m.afterKib)} MiB with ` +
    `${k} more (connected in ${m.connectSeconds.toFixed(0)} s, ${(k / m.connectSeconds).toFixed(1)}/s` +
    `${m.allWatched ? '' : ', not all watches in place'}): ${idleMemoryFigure(m)}, noise ±${m.noiseKbPerMailbox.toFixed(1)} ` +
    `KB/mailbox (platform processes only: sandbox, PostgreSQL server and backends, Kafka mock excluded; ` +
    `by process, KB/mailbox: ${byProcess})`
  );
}

/** CPU-ms per message summed over the platform's processes (the sandbox excluded). */
function platformCpuPerMessage(cpu: readonly CpuUse[]): number {
  return cpu.filter((c) => c.name !== 'sandbox').reduce((a, c) => a + c.perMessageMs, 0);
}

/** The "where the time goes" tables: per stage, per message; then each process's top modules and functions. */

function profileSection(
  mode: string,
  o: BenchOptions,
  cpu: CpuUse[],
  mainThreadCpu: Map<string, number>,
  sql0: Map<number, ProbeFile>,
  sql1: Map<number, ProbeFile>,
  probeDir: string,
  platform: Platform,
): string {
  const n = o.messages;
  const sql = sqlDeltas(sql0, sql1);
  // The profile's sample intervals are wall time (a busy machine deschedules the process), so its numbers are used as
  // shares of the main thread's CPU (/proc/<pid>/task/<pid>/stat). CPU by stage. Distributed: a service's process CPU
  // is its stage, less its relay/bus share. Embedded: the main thread's CPU by stage, and the other threads
  // (PGlite's worker, libuv, V8's helpers) apart.
  const stageCpu = new Map<string, number>();
  const add = (k: string, ms: number) => stageCpu.set(k, (stageCpu.get(k) ?? 0) + ms);
  const summaries: Array<[string, ProfileSummary, number, number]> = [];
  for (const p of platform.processes()) {
    const file = path.join(probeDir, `profile-${p.pid}-1.cpuprofile`);
    const processCpu = cpu.find((c) => c.name === p.name)?.cpuMs ?? 0;
    const summary = fs.existsSync(file)
      ? summariseProfile(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile)
      : undefined;
    const mainCpu = Math.min(mainThreadCpu.get(p.name) ?? 0, processCpu);
    const scale = summary && summary.busyMs > 0 ? mainCpu / summary.busyMs : 0;
    if (summary) summaries.push([p.name, summary, scale, mainCpu]);
    const byStage = new Map((summary?.byStage ?? []).map(([k, v]) => [k, v * scale]));
    if (mode === 'distributed') {
      const relay = byStage.get('relay/bus') ?? 0;
      add('relay/bus', relay);
      add(p.name, processCpu - relay);
    } else {
      for (const [stage, ms] of byStage) add(stage, ms);
      add(OTHER_THREADS, processCpu - mainCpu);
    }
  }
  for (const c of cpu)
    if (c.name === 'postgres backends' || c.name.startsWith('kafka'))
      stageCpu.set(c.name, (stageCpu.get(c.name) ?? 0) + c.cpuMs);
  const perMsg = (x: number) => (x / n).toFixed(2);
  const rows: string[] = [];
  const relay = [...sql.values()].reduce((a, c) => a + c.relayStatements, 0);
  for (const app of ['mail-gateway', 'sync-engine', 'conversations', 'identity-connections']) {
    const c = sql.get(app);
    const label = STAGE_OF_APP[app];
    const ms = stageCpu.get(app) ?? 0;
    rows.push(
      `| ${label} | ${perMsg(ms)} | ${c ? perMsg(c.commits) : '-'} | ${c ? perMsg(c.statements - c.relayStatements) : '-'} | ${c ? perMsg(c.roundTrips) : '-'} |`,
    );
  }
  rows.push(
    `| relay/bus (outbox/inbox statements of every service; bus code) | ${perMsg(stageCpu.get('relay/bus') ?? 0)} | (in the rows above) | ${perMsg(relay)} | (in the rows above) |`,
  );
  for (const extra of [NO_STAGE, OTHER_THREADS, 'postgres backends', 'kafka-mock (kcat)'])
    if (stageCpu.has(extra)) rows.push(`| ${extra} | ${perMsg(stageCpu.get(extra) ?? 0)} | | | |`);
  const totalCpu = cpu.filter((c) => c.name !== 'sandbox').reduce((a, c) => a + c.cpuMs, 0);
  const tot = [...sql.values()].reduce(
    (a, c) => ({
      commits: a.commits + c.commits,
      statements: a.statements + c.statements,
      rt: a.rt + c.roundTrips,
    }),
    { commits: 0, statements: 0, rt: 0 },
  );
  rows.push(
    `| **total** | **${perMsg(totalCpu)}** | **${perMsg(tot.commits)}** | **${perMsg(tot.statements)}** | **${perMsg(tot.rt)}** |`,
  );
  const lines = [
    `## ${mode}`,
    '',
    `Burst of ${n} messages across ${o.mailboxes} Gmail mailboxes; counters and profiles cover the burst window only.`,
    '',
    '| stage, per message | CPU ms | transactions | SQL statements | DB round trips |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    statementsMarkdown(
      statementDeltas(
        [...sql1.keys()].map((pid) => sql0.get(pid)?.counts),
        [...sql1.values()].map((f) => f.counts),
      ),
      n,
    ),
  ];
  for (const [name, s, scale, mainCpu] of summaries) {
    lines.push(
      `### ${name}: main thread, ${perMsg(mainCpu)} ms/msg, by the CPU profile's shares`,
      '',
      '| module (self) | ms/msg | function (self) | ms/msg | our nearest frame (self time below it) | ms/msg |',
      '| --- | ---: | --- | ---: | --- | ---: |',
    );
    const cell = (x: readonly [string, number] | undefined) =>
      x ? `${x[0].replace(/\|/g, '\\|')} | ${perMsg(x[1] * scale)}` : ' | ';
    for (let i = 0; i < 12; i++) {
      if (!s.byModule[i] && !s.topFunctions[i] && !s.topOwnFrames[i]) break;
      lines.push(`| ${cell(s.byModule[i])} | ${cell(s.topFunctions[i])} | ${cell(s.topOwnFrames[i])} |`);
    }
    lines.push('');
  }
  // What each process allocated in the window: the young generation's fill rate, and so its collections' work.
  for (const p of platform.processes()) {
    const file = path.join(probeDir, `alloc-${p.pid}-1.heapprofile`);
    if (!fs.existsSync(file)) continue;
    const heap = JSON.parse(fs.readFileSync(file, 'utf8')) as HeapProfile;
    lines.push(...allocationMarkdown(p.name, summariseAllocations(heap), n));
  }
  return lines.join('\n');
}
