/**
 * How fast the gateway gets tokens: the vault path (decrypt, no provider call) and the refresh path, against the
 * sandbox emulators and the local PostgreSQL. Prints numbers; asserts nothing.
 *   node tools/run-ts.cjs apps/identity-connections/bench/access-token.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { GOOGLE_USER, accessToken, connectMailbox, startHarness } from '../src/testing/identity-harness';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function timed(n: number, concurrency: number, call: () => Promise<{ status: number }>) {
  const durations: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const t = performance.now();
        const res = await call();
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        durations.push(performance.now() - t);
      }
    }),
  );
  const total = performance.now() - started;
  durations.sort((a, b) => a - b);
  return {
    requests: n,
    concurrency,
    perSecond: Math.round((n / total) * 1000),
    p50ms: +percentile(durations, 0.5).toFixed(2),
    p95ms: +percentile(durations, 0.95).toFixed(2),
    maxms: +durations[durations.length - 1].toFixed(2),
  };
}

async function main(): Promise<void> {
  const h = await startHarness();
  try {
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_bench',
      userId: 'usr_bench',
      mailbox: GOOGLE_USER,
    });
    const [{ connection_id: id }] = await h.sql<{ connection_id: string }>(
      `SELECT connection_id FROM identity_connections.connections WHERE location_id = 'loc_bench'`,
    );
    await timed(200, 10, () => accessToken(h, id)); // warm-up
    const vault = await timed(2000, 20, () => accessToken(h, id));
    const refreshes = await timed(100, 1, async () => {
      await h.sql(
        `UPDATE identity_connections.connection_tokens SET access_expires_at = now() WHERE connection_id = $1`,
        [id],
      );
      return accessToken(h, id);
    });
    const before = h.googleTokenCalls.filter((c) => c.grantType === 'refresh_token').length;
    await h.sql(
      `UPDATE identity_connections.connection_tokens SET access_expires_at = now() WHERE connection_id = $1`,
      [id],
    );
    const burst = await timed(500, 500, () => accessToken(h, id));
    const burstRefreshes = h.googleTokenCalls.filter((c) => c.grantType === 'refresh_token').length - before;
    process.stdout.write(
      `${JSON.stringify(
        {
          vaultPath: vault,
          refreshPath: refreshes,
          burstOf500AtExpiry: { ...burst, refreshCallsAtEmulator: burstRefreshes },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await h.close();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
